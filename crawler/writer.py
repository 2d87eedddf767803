"""Run store calls on one dedicated thread, so SQLite never blocks the event loop.

A `StoreThread` is one connection, used only from its own thread; every call is awaited from the loop.
All crawls of a process share one per database file (`shared_store`), so their reads and writes queue
on one thread instead of meeting in SQLite's lock. A writer per crawl was the first design: with 400
sources crawled every 10–30 s on two cores (bench/soak.py), hundreds of connections waited on the
lock longer than the 30 s busy timeout ("database is locked"), and the articles of those batches had
to be fetched again on the next crawl. `close_shared_stores()` ends them at shutdown.
Settings read: the database path (passed in).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from crawler.store import open_store

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StoreThread:
    """A store connection owned by one worker thread; `await call(fn, ...)` runs `fn(db, ...)` there."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-store")
        self._db: sqlite_utils.Database | None = None

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._db is None:
            self._db = open_store(self.db_path)
        return fn(self._db, *args)

    def call_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on the store thread and wait for it (for use off the event loop)."""
        return self._executor.submit(self._run, fn, args).result()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on the store thread without blocking the loop."""
        return await asyncio.wrap_future(self._executor.submit(self._run, fn, args))

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.conn.close()
            self._db = None

    def close(self) -> None:
        """Close the connection and stop the thread, after the calls already queued (off the event loop)."""
        self._executor.submit(self._close_db).result()
        self._executor.shutdown(wait=True)


_shared: dict[Path, StoreThread] = {}
_shared_lock = threading.Lock()


def shared_store(db_path: Path) -> StoreThread:
    """The process's one `StoreThread` for `db_path`, started on first use."""
    key = Path(db_path).resolve()
    with _shared_lock:
        store = _shared.get(key)
        if store is None:
            store = _shared[key] = StoreThread(key)
        return store


def close_shared_stores() -> None:
    """Close every shared store (at shutdown, once no crawl runs; the next use opens a new one)."""
    with _shared_lock:
        stores = list(_shared.values())
        _shared.clear()
    for store in stores:
        try:
            store.close()
        except Exception:
            logger.warning("closing the store thread for %s failed", store.db_path, exc_info=True)
