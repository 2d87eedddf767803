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

Settings read: `Config.database` (every job opens the store there), `.crawl` (the Scrapy runner).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from alerts import Matcher, compile_matcher
from crawler import ThreadConnections, make_runner
from scheduler.config import Config
from scheduler.metrics import Metrics
from scheduler.schema import open_store

logger = logging.getLogger(__name__)

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
    # One reused connection per worker thread (crawler.connections), closed by join_threads().
    connections: ThreadConnections | None = None

    def __post_init__(self) -> None:
        self.connections = ThreadConnections(functools.partial(open_store, self.config.database))

    def swap(self, config: Config) -> Config:
        """Take a reloaded config for the jobs that start from now on; returns the config applied.

        Changed `crawl:` options get a new Scrapy runner; `database` and `crawl.extraction_workers`
        apply after a restart only (the lock and the extraction pool are per process), which is logged.
        """
        old = self.config
        if config.database != old.database:
            logger.warning("database changed to %s: that applies after a restart; this daemon keeps using %s "
                           "(and its lock)", config.database, old.database)
            config = dataclasses.replace(config, database=old.database)
        matcher = matcher_for(config)  # compiled once, by validation
        if config.crawl != old.crawl:
            changed = [f.name for f in dataclasses.fields(config.crawl)
                       if getattr(config.crawl, f.name) != getattr(old.crawl, f.name)]
            self.runner = make_runner(config.crawl)
            logger.info("crawl options changed (%s): crawls from now on use them", ", ".join(changed))
            if "extraction_workers" in changed:
                logger.warning("crawl.extraction_workers applies after a restart: the extraction pool is sized "
                               "once per process")
        self.config, self.matcher = config, matcher
        return config

    def with_db(self, func: Callable[..., T], *args: Any) -> T:
        """Call `func(db, *args)` with this thread's store connection (blocking: call it in a thread).

        Each job thread keeps one connection for the daemon's life: opening one per job cost ~1.3 ms
        and, under load, brought back "database is locked" (crawler.connections).
        """
        assert self.connections is not None
        with self.connections.use() as db:
            return func(db, *args)

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
        if self.connections is not None:
            self.connections.close()
