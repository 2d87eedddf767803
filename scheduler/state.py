"""What the running daemon tells other processes: its heartbeat and each job's next run.

`newswatch status` runs in another process than the daemon, so the daemon writes a small table
(`daemon_jobs`) every few seconds; status reads it and says whether a daemon is alive and when
each source is crawled next. Settings read: none (the caller passes the database connection).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

DAEMON_ROW = "_daemon"


def _ensure(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS daemon_jobs (id TEXT PRIMARY KEY, name TEXT, next_run TEXT, "
               "updated_at TEXT)")


def publish_jobs(db: sqlite_utils.Database, jobs: Iterable[tuple[str, str, datetime | None]],
                 started_at: datetime) -> None:
    """Replace the job list with `jobs` (id, name, next run) and stamp the daemon's heartbeat."""
    _ensure(db)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [(job_id, name, when.isoformat(timespec="seconds") if when else None, now) for job_id, name, when in jobs]
    rows.append((DAEMON_ROW, f"pid {os.getpid()} since {started_at.isoformat(timespec='seconds')}", None, now))
    with db.conn:
        db.conn.execute("DELETE FROM daemon_jobs")
        db.conn.executemany("INSERT INTO daemon_jobs (id, name, next_run, updated_at) VALUES (?, ?, ?, ?)", rows)


def clear_jobs(db: sqlite_utils.Database) -> None:
    """The daemon stopped: nothing is scheduled any more."""
    _ensure(db)
    with db.conn:
        db.conn.execute("DELETE FROM daemon_jobs")


def read_jobs(db: sqlite_utils.Database) -> dict[str, Any]:
    """`{"daemon": {...} | None, "jobs": {id: next_run}}` as the daemon last published them."""
    _ensure(db)
    rows = {row["id"]: row for row in db.query("SELECT * FROM daemon_jobs")}
    daemon = rows.pop(DAEMON_ROW, None)
    return {
        "daemon": {"process": daemon["name"], "heartbeat": daemon["updated_at"]} if daemon else None,
        "jobs": {job_id: row["next_run"] for job_id, row in sorted(rows.items())},
    }
