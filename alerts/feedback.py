"""What analysts tell newswatch back: judgements, muted stories and snoozed sources or terms.

Three small tables in the store, created (idempotently) wherever the alerts schema is ensured:

- ``judgements(story_id, watchlist, relevant, who, judged_at)`` — one label per (story, watchlist):
  relevant (1) or not (0), with who gave it and when; judging again replaces the label. The
  workbench writes them and `newswatch eval` reads them back (`judgements_for()`).
- ``mutes(story_id, who, muted_at)`` — a muted story gets no further alert, digest entry or story
  update: the pipeline stops routing it (``alerts.pipeline``), `mute()` withdraws what is queued and
  not yet tried, and the outbox withholds any row of a muted story before it is sent
  (`withhold_muted()`, called by ``alerts.delivery.outbox.pending_entries``).
- ``snoozes(kind, value, until, who, snoozed_at)`` — until ``until``, a snoozed *source*'s articles
  raise no alerts (they are still matched and grouped into stories, so the workbench shows them), and
  a snoozed *term* counts for nothing: the pipeline blanks it out of the text before matching.

The workbench is the first writer; the functions are plain so that a CLI command or the eval
harness can call them too. Settings read: none (the database handle and the clock are passed in).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlite_utils

logger = logging.getLogger(__name__)

SnoozeKind = Literal["source", "term"]
SNOOZE_KINDS: tuple[SnoozeKind, ...] = ("source", "term")
MAX_SNOOZE_DAYS = 365

FEEDBACK_SCHEMA = """
CREATE TABLE IF NOT EXISTS judgements (
    story_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    relevant INTEGER NOT NULL,
    who TEXT NOT NULL,
    judged_at TEXT NOT NULL,
    PRIMARY KEY (story_id, watchlist)
);
CREATE INDEX IF NOT EXISTS idx_judgements_watchlist ON judgements (watchlist, judged_at);
CREATE TABLE IF NOT EXISTS mutes (
    story_id INTEGER PRIMARY KEY,
    who TEXT NOT NULL,
    muted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snoozes (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    until TEXT NOT NULL,
    who TEXT NOT NULL,
    snoozed_at TEXT NOT NULL,
    PRIMARY KEY (kind, value)
);
"""


@dataclass(frozen=True, slots=True)
class Judgement:
    """One analyst's label on a (story, watchlist) pair."""

    story_id: int
    watchlist: str
    relevant: bool
    who: str
    judged_at: str


@dataclass(frozen=True, slots=True)
class Snooze:
    """A source or a term silenced until `until` (ISO 8601, UTC)."""

    kind: SnoozeKind
    value: str
    until: str
    who: str
    snoozed_at: str


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _conn(db: sqlite_utils.Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.conn


def ensure_feedback_schema(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    """Create the judgements, mutes and snoozes tables if they are missing (safe to call every start)."""
    _conn(db).executescript(FEEDBACK_SCHEMA)


def _write(db: sqlite_utils.Database) -> sqlite3.Connection:
    """Open a write transaction (`BEGIN IMMEDIATE`) on the store's connection."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    return conn


def judge(db: sqlite_utils.Database, story_id: int, watchlist: str, relevant: bool, who: str,
          now: datetime | None = None) -> Judgement:
    """Label a story relevant or not for a watchlist (replacing an earlier label of that pair).

    Args:
        db: the store.
        story_id: the story judged.
        watchlist: the watchlist whose verdict is judged.
        relevant: True for "relevant", False for "not relevant".
        who: the analyst (a user name, or "local" for an unauthenticated loopback workbench).
        now: the time of the judgement (tests drive the clock with it).

    Returns:
        The stored Judgement.

    Raises:
        ValueError: an empty watchlist or analyst name.
    """
    if not watchlist or not who:
        raise ValueError(f"a judgement needs a watchlist and an analyst, got {watchlist!r} and {who!r}")
    ensure_feedback_schema(db)
    stamp = _iso(now or datetime.now(UTC))
    conn = _write(db)
    try:
        conn.execute(
            "INSERT INTO judgements (story_id, watchlist, relevant, who, judged_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (story_id, watchlist) DO UPDATE SET relevant = excluded.relevant, who = excluded.who, "
            "judged_at = excluded.judged_at",
            [story_id, watchlist, int(relevant), who, stamp])
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    logger.info("story %d judged %s for watchlist %s by %s", story_id,
                "relevant" if relevant else "not relevant", watchlist, who)
    return Judgement(story_id, watchlist, relevant, who, stamp)


def judgements_for(db: sqlite_utils.Database, watchlist: str | None = None) -> list[Judgement]:
    """The labels given for one watchlist (or for all when None), oldest first."""
    ensure_feedback_schema(db)
    sql = "SELECT story_id, watchlist, relevant, who, judged_at FROM judgements"
    params: list[str] = []
    if watchlist is not None:
        sql += " WHERE watchlist = ?"
        params.append(watchlist)
    rows = db.conn.execute(sql + " ORDER BY judged_at, story_id", params).fetchall()
    return [Judgement(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]


def judgements_of_story(db: sqlite_utils.Database | sqlite3.Connection, story_id: int) -> dict[str, Judgement]:
    """The labels of one story, by watchlist."""
    rows = _conn(db).execute("SELECT story_id, watchlist, relevant, who, judged_at FROM judgements "
                             "WHERE story_id = ?", [story_id]).fetchall()
    return {r[1]: Judgement(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows}


def mute(db: sqlite_utils.Database, story_id: int, who: str, now: datetime | None = None) -> int:
    """Mute a story: no further alert, digest entry or story update for it, to any target.

    Outbox rows of the story that nobody has started sending are withdrawn (state ``muted``), and the
    story leaves the digests still collecting (a digest left empty is withdrawn too). Rows already
    tried stay as they are: their text may already have reached someone.

    Args:
        db: the store.
        story_id: the story to mute.
        who: the analyst.
        now: the time of the mute.

    Returns:
        How many queued messages were withdrawn.
    """
    ensure_feedback_schema(db)
    stamp = _iso(now or datetime.now(UTC))
    conn = _write(db)
    try:
        conn.execute("INSERT OR IGNORE INTO mutes (story_id, who, muted_at) VALUES (?, ?, ?)", [story_id, who, stamp])
        withdrawn = _withdraw(conn, [story_id], stamp)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    logger.info("story %d muted by %s (%d queued messages withdrawn)", story_id, who, withdrawn)
    return withdrawn


def unmute(db: sqlite_utils.Database, story_id: int) -> bool:
    """Let a muted story alert again (what was withdrawn stays withdrawn). Returns whether it was muted."""
    ensure_feedback_schema(db)
    with db.conn:
        return db.conn.execute("DELETE FROM mutes WHERE story_id = ?", [story_id]).rowcount == 1


def is_muted(db: sqlite_utils.Database | sqlite3.Connection, story_id: int) -> bool:
    """Whether the story is muted."""
    return _conn(db).execute("SELECT 1 FROM mutes WHERE story_id = ?", [story_id]).fetchone() is not None


def _withdraw(conn: sqlite3.Connection, story_ids: Sequence[int], stamp: str) -> int:
    withdrawn = 0
    for story_id in story_ids:
        withdrawn += conn.execute(
            "UPDATE outbox SET status = 'muted', updated_at = ? WHERE story_id = ? AND kind IN ('alert', 'update') "
            "AND status = 'pending' AND first_tried_at IS NULL", [stamp, story_id]).rowcount
        digests = [r[0] for r in conn.execute(
            "SELECT DISTINCT i.outbox_id FROM outbox_items i JOIN outbox o ON o.id = i.outbox_id "
            "WHERE i.story_id = ? AND o.status = 'collecting'", [story_id]).fetchall()]
        for digest_id in digests:
            conn.execute("DELETE FROM outbox_items WHERE outbox_id = ? AND story_id = ?", [digest_id, story_id])
            if conn.execute("SELECT 1 FROM outbox_items WHERE outbox_id = ?", [digest_id]).fetchone() is None:
                withdrawn += conn.execute("UPDATE outbox SET status = 'muted', updated_at = ? WHERE id = ?",
                                          [stamp, digest_id]).rowcount
    return withdrawn


def withhold_muted(db: sqlite_utils.Database, now: datetime | None = None) -> int:
    """Withdraw untried alert and update rows of muted stories (the outbox calls this before sending).

    Costs one read when there is nothing to withdraw. Returns how many rows were withdrawn.
    """
    ensure_feedback_schema(db)
    where = ("status = 'pending' AND first_tried_at IS NULL AND kind IN ('alert', 'update') "
             "AND story_id IN (SELECT story_id FROM mutes)")
    if db.conn.execute(f"SELECT 1 FROM outbox WHERE {where} LIMIT 1").fetchone() is None:
        return 0
    stamp = _iso(now or datetime.now(UTC))
    conn = _write(db)
    try:
        withdrawn = conn.execute(f"UPDATE outbox SET status = 'muted', updated_at = ? WHERE {where}", [stamp]).rowcount
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    logger.info("outbox: %d queued messages of muted stories withdrawn", withdrawn)
    return withdrawn


def snooze(db: sqlite_utils.Database, kind: SnoozeKind, value: str, days: float, who: str,
           now: datetime | None = None) -> Snooze:
    """Silence a source (its articles raise no alerts) or a term (it counts for nothing) for `days`.

    Snoozing again replaces the end time.

    Args:
        db: the store.
        kind: ``source`` (a source name as in config.yaml) or ``term`` (a term or alias as written in
            a watchlist or the gazetteer, matched without regard to case).
        value: the source name or the term.
        days: how long, more than 0 and at most `MAX_SNOOZE_DAYS`.
        who: the analyst.
        now: the start of the snooze.

    Returns:
        The stored Snooze.

    Raises:
        ValueError: an unknown kind, an empty value or a number of days out of range.
    """
    if kind not in SNOOZE_KINDS:
        raise ValueError(f"snooze kind {kind!r} is unknown; use one of {', '.join(SNOOZE_KINDS)}")
    value = value.strip()
    if not value:
        raise ValueError(f"a {kind} snooze needs a {kind} to silence, got an empty value")
    if not 0 < days <= MAX_SNOOZE_DAYS:
        raise ValueError(f"snooze days must be more than 0 and at most {MAX_SNOOZE_DAYS}, got {days:g}")
    ensure_feedback_schema(db)
    start = now or datetime.now(UTC)
    stamp, until = _iso(start), _iso(start + timedelta(days=days))
    with db.conn:
        db.conn.execute(
            "INSERT INTO snoozes (kind, value, until, who, snoozed_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, value) DO UPDATE SET until = excluded.until, who = excluded.who, "
            "snoozed_at = excluded.snoozed_at", [kind, value, until, who, stamp])
    logger.info("%s %r snoozed until %s by %s", kind, value, until, who)
    return Snooze(kind, value, until, who, stamp)


def active_snoozes(db: sqlite_utils.Database | sqlite3.Connection, now: datetime | None = None) -> list[Snooze]:
    """The snoozes not yet over at `now`, by kind and value."""
    ensure_feedback_schema(db)
    rows = _conn(db).execute(
        "SELECT kind, value, until, who, snoozed_at FROM snoozes WHERE until > ? ORDER BY kind, value",
        [_iso(now or datetime.now(UTC))]).fetchall()
    return [Snooze(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def blank_terms(text: str, terms: Iterable[str]) -> str:
    """`text` with every occurrence of the terms (any case) replaced by spaces of the same length.

    How a snoozed term counts for nothing: the matcher cannot find what is not there, and the other
    words keep their places (sentences and NEAR distances are unchanged).
    """
    wanted = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not wanted or not text:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    return pattern.sub(lambda m: " " * len(m.group(0)), text)
