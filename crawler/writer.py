"""Run store calls on one dedicated thread, so SQLite never blocks the event loop.

Each crawl opens its own `StoreThread`: one connection, used only from that thread, and every call
awaited from the loop. Writes of several crawls in one process meet in SQLite's own locking (WAL,
busy timeout 30 s). Settings read: the database path (passed in).
"""

from __future__ import annotations

import asyncio
import logging
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

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        await asyncio.wrap_future(self._executor.submit(self._close_db))
        self._executor.shutdown(wait=False)
