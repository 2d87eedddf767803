"""The brain's record of every batch handed to a worker: which sources, which worker, until when.

Table `worker_batches` in the daemon's SQLite file (the brain is its only writer). A batch is written
here before its job is put on the worker's queue, so no batch exists that the brain does not know;
its `leased_until` is when the brain gives up on it and crawls its sources again elsewhere. States:
`leased` (handed out), `done` (handed back and stored), `expired` (the lease ran out: its sources were
dispatched again), `late` (handed back after expiring: stored all the same, articles are idempotent).
A source or a site in a `leased` batch is never dispatched again until that batch ends (one worker per
site at a time). The table comes with the scheduler's migration 2 (`scheduler.schema.open_store`).
Settings read: none (the caller passes the lease).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

__all__ = ["Batch", "abandon_batch", "batch_state", "create_table", "expire_batches", "finish_batch",
           "get_batch", "open_batch", "open_batches", "prune_batches", "recent_batches"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch as the ledger holds it."""

    id: str
    worker: str
    sites: tuple[str, ...]
    sources: tuple[str, ...]
    dispatched_at: str
    leased_until: float  # epoch seconds
    state: str
    finished_at: str | None = None
    articles: int = 0
    new_articles: int = 0


def create_table(conn: sqlite3.Connection) -> None:
    """The ledger's table (scheduler migration 2: `scheduler.schema`); runs inside the migration's transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS worker_batches (id TEXT PRIMARY KEY, worker TEXT NOT NULL, sites TEXT NOT NULL, "
        "sources TEXT NOT NULL, dispatched_at TEXT NOT NULL, leased_until REAL NOT NULL, state TEXT NOT NULL, "
        "finished_at TEXT, articles INTEGER NOT NULL DEFAULT 0, new_articles INTEGER NOT NULL DEFAULT 0)")
    conn.execute("CREATE INDEX IF NOT EXISTS worker_batches_state ON worker_batches (state, leased_until)")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _batch(row: dict[str, Any]) -> Batch:
    return Batch(row["id"], row["worker"], tuple(json.loads(row["sites"])), tuple(json.loads(row["sources"])),
                 row["dispatched_at"], row["leased_until"], row["state"], row["finished_at"], row["articles"],
                 row["new_articles"])


def open_batch(db: sqlite_utils.Database, batch_id: str, worker: str, sites: Sequence[str],
               sources: Sequence[str], lease_seconds: float, now: float | None = None) -> Batch:
    """Record a batch handed to `worker`, leased for `lease_seconds` from now."""
    until = (time.time() if now is None else now) + lease_seconds
    with db.conn:
        db.conn.execute(
            "INSERT INTO worker_batches (id, worker, sites, sources, dispatched_at, leased_until, state) "
            "VALUES (?, ?, ?, ?, ?, ?, 'leased')",
            [batch_id, worker, json.dumps(list(sites)), json.dumps(list(sources)), _now_iso(), until])
    return Batch(batch_id, worker, tuple(sites), tuple(sources), _now_iso(), until, "leased")


def open_batches(db: sqlite_utils.Database) -> list[Batch]:
    """Batches handed out and not yet handed back nor expired."""
    return [_batch(row) for row in db.query("SELECT * FROM worker_batches WHERE state = 'leased' ORDER BY rowid")]


def get_batch(db: sqlite_utils.Database, batch_id: str) -> Batch | None:
    """A batch by id, or None when the ledger does not know it (another brain's, or pruned)."""
    rows = list(db.query("SELECT * FROM worker_batches WHERE id = ?", [batch_id]))
    return _batch(rows[0]) if rows else None


def batch_state(db: sqlite_utils.Database, batch_id: str) -> str | None:
    """The state of a batch, or None when the ledger does not know it."""
    rows = list(db.query("SELECT state FROM worker_batches WHERE id = ?", [batch_id]))
    return str(rows[0]["state"]) if rows else None


def expire_batches(db: sqlite_utils.Database, now: float | None = None) -> list[Batch]:
    """Mark the batches whose lease ran out as `expired` and return them (their sources are due again)."""
    moment = time.time() if now is None else now
    with db.conn:
        rows = list(db.query("SELECT * FROM worker_batches WHERE state = 'leased' AND leased_until < ?", [moment]))
        db.conn.executemany("UPDATE worker_batches SET state = 'expired' WHERE id = ? AND state = 'leased'",
                            [(row["id"],) for row in rows])
    return [_batch(row) for row in rows]


def finish_batch(db: sqlite_utils.Database, batch_id: str, articles: int, new_articles: int) -> str | None:
    """Record that a batch was handed back and stored: `done`, or `late` when its lease had expired.

    Returns:
        The new state, or None when the batch was already finished (a repeat) or is unknown.
    """
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE worker_batches SET state = CASE state WHEN 'leased' THEN 'done' ELSE 'late' END, "
            "finished_at = ?, articles = ?, new_articles = ? WHERE id = ? AND state IN ('leased', 'expired')",
            [_now_iso(), articles, new_articles, batch_id])
    return batch_state(db, batch_id) if cursor.rowcount else None


def abandon_batch(db: sqlite_utils.Database, batch_id: str) -> None:
    """A batch that never reached its worker's queue: close it as `expired` (its sources stay due)."""
    with db.conn:
        db.conn.execute("UPDATE worker_batches SET state = 'expired' WHERE id = ? AND state = 'leased'", [batch_id])


def recent_batches(db: sqlite_utils.Database, limit: int = 50) -> list[Batch]:
    """The newest batches first (for `newswatch status`); read only, empty before the table exists."""
    if "worker_batches" not in db.table_names():
        return []
    return [_batch(row) for row in db.query("SELECT * FROM worker_batches ORDER BY rowid DESC LIMIT ?", [limit])]


def prune_batches(db: sqlite_utils.Database, days: float = 7) -> int:
    """Forget finished batches older than `days`. Returns how many."""
    cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    with db.conn:
        cursor = db.conn.execute(
            "DELETE FROM worker_batches WHERE state != 'leased' AND dispatched_at < ?", [cutoff])
    return cursor.rowcount
