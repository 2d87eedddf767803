"""The alerts tables in the shared SQLite store: matches, stories, outbox and delivery attempts.

`ensure_alerts_schema(db)` creates them (idempotent) beside the crawler's tables in the same file.
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
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

logger = logging.getLogger(__name__)

CURSOR_KEY = "article_cursor"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts_state (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    story_id INTEGER,
    score REAL,
    threshold REAL,
    rules TEXT,
    evidence TEXT,
    reason TEXT,
    matched_at TEXT,
    UNIQUE (article_id, watchlist)
);
CREATE INDEX IF NOT EXISTS idx_matches_story ON matches (story_id, watchlist);
CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    title TEXT,
    url TEXT,
    source TEXT,
    first_article_id INTEGER,
    published TEXT,
    last_published TEXT,
    first_seen TEXT,
    last_seen TEXT,
    article_count INTEGER NOT NULL DEFAULT 1,
    outlets TEXT
);
CREATE INDEX IF NOT EXISTS idx_stories_last_seen ON stories (last_seen);
CREATE TABLE IF NOT EXISTS story_articles (
    article_id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL,
    similarity REAL,
    via TEXT,
    signature BLOB,
    title_signature BLOB,
    joined_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_story_articles_story ON story_articles (story_id);
CREATE TABLE IF NOT EXISTS story_alerts (
    story_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    target TEXT NOT NULL,
    outbox_id INTEGER NOT NULL,
    created_at TEXT,
    PRIMARY KEY (story_id, watchlist, target)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'alert',
    watchlists TEXT NOT NULL,
    article_id INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    delivered_at TEXT,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS idx_outbox_due ON outbox (status, target, id);
CREATE TABLE IF NOT EXISTS outbox_items (
    outbox_id INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    article_id INTEGER,
    reason TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (outbox_id, story_id, watchlist)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TEXT,
    outcome TEXT,
    status INTEGER,
    retry_after REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS idx_deliveries_outbox ON deliveries (outbox_id);
"""


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


def iso(moment: datetime) -> str:
    """`moment` as the UTC ISO 8601 string (seconds) that every alerts timestamp column holds.

    Naive datetimes are taken to be UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def now_utc() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


# Columns added after the first release, with their types: added to older databases on open.
_OUTBOX_COLUMNS = {
    "first_tried_at": "TEXT",  # when the first send attempt was claimed (rate limits count these)
    "due_at": "TEXT",  # digests: when the digest was scheduled (shown in it; stable across retries)
    "tz": "TEXT",  # digests: the time zone its times are shown in
    "notice_key": "TEXT",  # notices: the caller's key, unique per target
    "subject": "TEXT",  # notices
    "body": "TEXT",  # notices
    "slack_ts": "TEXT",  # delivered through Slack's Web API: the message's ts (a thread root)
    "slack_channel": "TEXT",  # … and the channel id it was posted in
    "covered_article_id": "INTEGER",  # alerts sent with a ts: newest story article when composed
    "parent_id": "INTEGER",  # story updates: the alert row they reply under
    "lease_owner": "TEXT",  # host:pid:start of the process sending the row right now (see outbox)
}
_LATE_SCHEMA = """
CREATE UNIQUE INDEX IF NOT EXISTS idx_outbox_notice ON outbox (target, notice_key) WHERE notice_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_outbox_collecting ON outbox (target, status, next_attempt_at);
CREATE INDEX IF NOT EXISTS idx_outbox_story ON outbox (story_id, target);
CREATE UNIQUE INDEX IF NOT EXISTS idx_outbox_update ON outbox (target, story_id, article_id) WHERE kind = 'update';
"""


def ensure_alerts_schema(db: sqlite_utils.Database) -> None:
    """Create the alerts tables and indexes in `db` if they are missing (safe to call every start).

    Older databases get the columns added since (outbox: first_tried_at, due_at, tz, notice_key,
    subject, body, slack_ts, slack_channel, covered_article_id, parent_id, lease_owner).

    Args:
        db: the store opened with `crawler.store.open_store()`.
    """
    db.conn.executescript(_SCHEMA)
    present = {row[1] for row in db.conn.execute("PRAGMA table_info(outbox)").fetchall()}
    for column, kind in _OUTBOX_COLUMNS.items():
        if column not in present:
            try:
                db.conn.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it a moment ago
                if "duplicate column" not in str(exc):
                    raise
    db.conn.executescript(_LATE_SCHEMA)
    from alerts.feedback import ensure_feedback_schema  # here, not at the top: alerts.feedback is a leaf

    ensure_feedback_schema(db)  # judgements, mutes, snoozes (the workbench's tables)


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
    ensure_alerts_schema(db)
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
