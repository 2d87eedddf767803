"""One reused store connection per worker thread, opened on first use and closed at shutdown.

SQLite connections are cheap to keep and costly to churn: the daemon's jobs used to open a new
connection per job (connect, WAL set-up, schema check, close) dozens of times a minute, and under
load the many short connections met in SQLite's lock. The crawler's `StoreThread`
(`crawler.writer`) showed the cure: one long-lived connection per thread. `ThreadConnections` gives
each thread that asks its own connection, made by the opener it was given (the scheduler passes its
`open_store`, so the migrations run on the first open only), and remembers them all so `close()`
can end them when the daemon stops.

`use()` hands the thread's connection out for one job and, afterwards, rolls back a transaction the
job left open (what closing the connection did before): a failed job cannot keep the write lock.
Settings read: none (the opener carries the path).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlite_utils

logger = logging.getLogger(__name__)


class ThreadConnections:
    """Per-thread store connections from `opener()`; thread-safe; `close()` ends them all."""

    def __init__(self, opener: Callable[[], sqlite_utils.Database]) -> None:
        self._opener = opener
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite_utils.Database] = []
        self._closed = False

    def get(self) -> sqlite_utils.Database:
        """The calling thread's connection, opened on its first call.

        Raises:
            RuntimeError: `close()` was called already.
            StoreError: the opener failed (the next call tries again).
        """
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is not None and not self._closed:
            return db
        with self._lock:
            if self._closed:
                raise RuntimeError("the store connections are closed (the daemon is stopping)")
        db = self._opener()
        with self._lock:
            self._open.append(db)
        self._local.db = db
        return db

    @contextmanager
    def use(self) -> Iterator[sqlite_utils.Database]:
        """The calling thread's connection for one job; a transaction the job left open is rolled back."""
        db = self.get()
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                logger.warning("a store job left a transaction open; rolled back")
                db.conn.rollback()

    def close(self) -> None:
        """Close every connection handed out (call once no job runs; later `get()` calls raise)."""
        with self._lock:
            self._closed = True
            dbs, self._open = self._open, []
        for db in dbs:
            try:
                db.conn.close()
            except Exception:
                logger.warning("closing a store connection failed", exc_info=True)
