"""The alerts tables in the shared SQLite store: matches, stories, outbox and delivery attempts.

`open_store(path)` opens the file with them (and the crawler's) up to date: the numbered migrations of
`alerts.schema` run once, when a file is opened that has not had them yet (see `crawler.migrations`).
Writers that must be atomic use `transaction(db)`, which opens `BEGIN IMMEDIATE` on the connection and
commits or rolls back as one unit. sqlite-utils' table helpers commit on their own, so code running
inside `transaction()` uses plain SQL only.

Tables (all timestamps are ISO 8601 strings in UTC, seconds precision):

- ``alerts_state(key, value)`` — the article cursor (``article_cursor``) and other small state.
- ``matches`` — one row per (article, watchlist) that matched, with rules and evidence as JSON.
- ``stories`` — one row per story (group of near-duplicate articles).
- ``story_articles`` — article → story, with the MinHash signatures used to find near-duplicates.
- ``story_alerts`` — the guarantee: one row per (story, watchlist, target) ever enqueued.
- ``outbox`` — one row per message to send to a target: an alert (one story and the watchlists it
  names), a digest (many stories, listed in ``outbox_items``), a notice (operations text) or a story
  update (a thread reply under an alert already sent: ``parent_id``, ``article_id``). A delivered
  Slack Web API message keeps its ``slack_ts`` and ``slack_channel`` (the thread to reply in) and
  ``covered_article_id`` (the story's newest article when the message was composed).
- ``outbox_items`` — the (story, watchlist) entries of a digest row, with why each was held.
- ``deliveries`` — one row per send attempt (outcome, status, a scrubbed error).

Settings read: none (the database handle is passed in).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from alerts.schema import ALERTS_SCHEMA
from crawler.migrations import Schema
from crawler.store import open_store as crawler_open_store

logger = logging.getLogger(__name__)

CURSOR_KEY = "article_cursor"

@dataclass(frozen=True, slots=True)
class StorySummary:
    """One story as `newswatch stories` lists it."""

    id: int
    title: str
    url: str
    source: str
    published: str | None
    first_seen: str
    last_seen: str
    article_count: int
    outlets: tuple[str, ...]
    watchlists: tuple[str, ...]


def open_store(path: str | Path, *schemas: Schema) -> sqlite_utils.Database:
    """Open the store with the crawler's and the alerts' tables up to date (then `schemas`', if given).

    Alerts code relies on its tables being there: open the store through this function (or the
    scheduler's, which calls it), never through `crawler.store.open_store()` alone.

    Args:
        path: the database file; its folder is created if missing.
        schemas: the schemas of the packages above alerts (the scheduler's).

    Raises:
        StoreError: the file cannot be opened or upgraded.
        SchemaTooNewError: the file was written by a newer newswatch.
    """
    return crawler_open_store(path, ALERTS_SCHEMA, *schemas)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction (`BEGIN IMMEDIATE` … `COMMIT`), rolled back if the block raises.

    Yields:
        The raw connection; use `conn.execute()` with plain SQL inside.
    """
    conn = db.conn
    if conn.in_transaction:  # a caller's implicit transaction must not swallow ours
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def get_cursor(db: sqlite_utils.Database) -> int:
    """The id of the last article the alerts pipeline has finished with (0 when none)."""
    row = db.execute("SELECT value FROM alerts_state WHERE key = ?", [CURSOR_KEY]).fetchone()
    return int(row[0]) if row else 0


def set_cursor(conn: sqlite3.Connection, article_id: int) -> None:
    """Move the article cursor forward (call inside `transaction()`)."""
    conn.execute(
        "INSERT INTO alerts_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [CURSOR_KEY, str(article_id)],
    )


def list_stories(db: sqlite_utils.Database, limit: int = 50) -> list[StorySummary]:
    """The most recently active stories, newest first, with the watchlists they matched.

    Args:
        db: the store.
        limit: how many stories to return at most.

    Returns:
        StorySummary values ordered by `last_seen` descending.
    """
    rows = db.execute(
        "SELECT s.id, s.title, s.url, s.source, s.published, s.first_seen, s.last_seen, "
        "s.article_count, s.outlets, "
        "(SELECT group_concat(DISTINCT m.watchlist) FROM matches m WHERE m.story_id = s.id) "
        "FROM stories s ORDER BY s.last_seen DESC, s.id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        StorySummary(
            id=r[0], title=r[1] or "", url=r[2] or "", source=r[3] or "", published=r[4],
            first_seen=r[5] or "", last_seen=r[6] or "", article_count=r[7] or 0,
            outlets=tuple(json.loads(r[8] or "[]")),
            watchlists=tuple(sorted((r[9] or "").split(","))) if r[9] else (),
        )
        for r in rows
    ]


def row_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    """A result row as a dict keyed by column name."""
    return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}
