"""The scheduler's table, and the one function that opens the whole store.

``daemon_jobs(id, name, next_run, updated_at)`` — what the running daemon publishes for `newswatch
status` (another process): each job's next run, and a ``_daemon`` row with its process and heartbeat
(see `scheduler.state`). Migration 1 is the table as `scheduler.state` created it on every publish
before versions existed (``IF NOT EXISTS``: a file made by older code keeps its rows). Migration 2 adds
``worker_batches``, the brain's ledger of batches handed to workers (`scheduler.workers.ledger`).

`open_store(path)` is how the daemon and every CLI command open the database: it applies the
crawler's, then the alerts', then the scheduler's migrations (each once per file, see
`crawler.migrations`), so no caller needs to create a table before using it. The crawler's own
store thread opens the file through `crawler.store.open_store()` and sees only its tables, which the
daemon has brought up to date before any crawl starts. Settings read: none (the path is passed in).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from alerts import open_store as alerts_open_store
from crawler import Migration, Schema


def _initial(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS daemon_jobs (id TEXT PRIMARY KEY, name TEXT, next_run TEXT, "
                 "updated_at TEXT)")


def _worker_batches(conn: sqlite3.Connection) -> None:
    from scheduler.workers.ledger import create_table

    create_table(conn)


SCHEDULER_SCHEMA = Schema("scheduler", (
    Migration(1, "daemon_jobs: the daemon's heartbeat and next runs (accepts a file made before versions)",
              _initial),
    Migration(2, "worker_batches: the brain's batches handed to workers, with leases (scheduler.workers)",
              _worker_batches),
))


def open_store(path: str | Path) -> sqlite_utils.Database:
    """Open the store with every package's tables up to date: crawler, then alerts, then scheduler.

    Args:
        path: the database file (`Config.database`); its folder is created if missing.

    Returns:
        A sqlite-utils Database; the caller closes it (`db.close()`).

    Raises:
        StoreError: the file cannot be opened or upgraded (the message names the file).
        SchemaTooNewError: the file was written by a newer newswatch (the message says to upgrade).
    """
    return alerts_open_store(path, SCHEDULER_SCHEMA)
