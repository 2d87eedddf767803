"""What every daemon job shares: the current config and matcher, the counters, and the worker threads.

Blocking work never runs on the event loop; each kind goes to a thread of its own, so one slow kind
never queues the others behind it:

- `match`: matching and the notices it queues (one thread owns the alerts cursor, so it is never
  advanced twice at once);
- `delivery` (up to `alerts.WORKERS` threads): draining the outbox, one target per thread;
- `status`: the heartbeat `newswatch status` reads and the source health check (short and frequent);
- `maintenance`: pruning and VACUUM, which can take minutes on a big file.

Threads keep apart Python work only: SQLite still lets one writer at a time into the file, so a write
made during a VACUUM waits for it (up to the store's busy timeout) in its own thread.

Settings read: `Config.database` (every job opens the store there).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from alerts import Matcher, compile_matcher
from crawler import open_store
from scheduler.config import Config
from scheduler.metrics import Metrics

T = TypeVar("T")

DELIVERY_THREADS = 8  # targets sent to at once (one round's preparation included)


def matcher_for(config: Config) -> Matcher:
    """The config's compiled matcher: load_config compiled the watchlists to validate them; reuse it."""
    if config.matcher is not None:
        return config.matcher  # type: ignore[no-any-return]
    return compile_matcher(config.watchlists, config.gazetteer)


def _thread(name: str, workers: int = 1) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(workers, thread_name_prefix=f"newswatch-{name}")


@dataclass
class Runtime:
    """The state the jobs share; the Service swaps `config`, `matcher` and `runner` on a reload."""

    config: Config
    matcher: Matcher
    runner: Any
    loop: asyncio.AbstractEventLoop
    metrics: Metrics = field(default_factory=Metrics)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    stopping: bool = False
    match_thread: ThreadPoolExecutor = field(default_factory=lambda: _thread("match"))
    delivery_threads: ThreadPoolExecutor = field(default_factory=lambda: _thread("deliver", DELIVERY_THREADS))
    status_thread: ThreadPoolExecutor = field(default_factory=lambda: _thread("status"))
    maintenance_thread: ThreadPoolExecutor = field(default_factory=lambda: _thread("maintenance"))

    def with_db(self, func: Callable[..., T], *args: Any) -> T:
        """Call `func(db, *args)` with a store connection opened for it (blocking: call it in a thread)."""
        db = open_store(self.config.database)
        try:
            return func(db, *args)
        finally:
            db.close()

    async def in_thread(self, pool: ThreadPoolExecutor, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await `func(*args, **kwargs)` run in `pool`, one of the thread pools above."""
        return await self.loop.run_in_executor(pool, functools.partial(func, *args, **kwargs))

    async def in_db(self, pool: ThreadPoolExecutor, func: Callable[..., T], *args: Any) -> T:
        """Await `func(db, *args)` run in `pool` with its own store connection."""
        return await self.in_thread(pool, self.with_db, func, *args)

    def join_threads(self) -> None:
        """Wait for queued work to end and stop the threads (blocking: call it off the loop)."""
        for pool in (self.match_thread, self.delivery_threads, self.status_thread, self.maintenance_thread):
            pool.shutdown(wait=True)
