"""The brain: the daemon with `workers:` on. It decides what is due, hands it out, and stores what comes back.

`BrainService` is the ordinary `Service` (same jobs, same matching, delivery, health checks and
housekeeping; still the only writer of the SQLite file) except that a due crawl does not run in the
daemon: `crawl()` only marks its source due, and one loop (`Brain.run`) does the rest, about once a
second and at once when a result arrives:

1. dispatch (below); then collect: read results from the stream; store each with `crawler.handoff.ingest_bundle()`
   (idempotent by canonical URL), close its batch in the ledger, acknowledge it; then match and
   deliver, as after a local crawl. A result whose batch is already closed is acknowledged unread.
2. expire: batches whose lease ran out go back to due (their worker died, or hangs: its work-horse
   kills itself before the lease ends, `scheduler.workers.job`).
3. dispatch: due sources not in an open batch are grouped by site (`affinity.site_key`); a site with
   an open batch waits for it (one worker per site at a time); each site goes to its rendezvous-chosen
   live worker; a worker gets one batch at a time, of whole sites, up to `batch_size` sources. The
   batch is written to the ledger before its job goes on the worker's queue.

The brain restarting loses nothing: open batches stay in the ledger (their results wait in the stream's
pending list, or their lease expires), and every source is due again at start as in a plain daemon.
Settings read: `Config.workers`, `.sources`, `.crawl.seen_url_days`, `.database` (and all that `Service` reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crawler import CrawlReport, open_store
from crawler.handoff import IngestReport, ingest_bundle, read_bundle, source_context
from scheduler.service import Service
from scheduler.workers import engine, ledger
from scheduler.workers.affinity import group_by_worker, site_key

logger = logging.getLogger(__name__)

__all__ = ["BrainService", "BrainStats"]

_TICK_SECONDS = 1.0


@dataclass
class BrainStats:
    """Counters of the brain's loop (tests and the benchmark read them)."""

    dispatched: int = 0
    collected: int = 0
    repeats: int = 0
    expired: int = 0
    ingest_seconds: float = 0.0
    ingested_articles: int = 0


class BrainService(Service):
    """A `Service` whose crawls run on workers (see the module docstring)."""

    def __init__(self, config: Any, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(config, loop)
        self.brain_stats = BrainStats()
        self._due: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._brain_task: asyncio.Task[None] | None = None
        self._redis = engine.connect(config.workers.redis_url)
        # One thread and one connection for the brain's reads and writes of the store.
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="newswatch-brain-db")
        self._redis_pool = ThreadPoolExecutor(1, thread_name_prefix="newswatch-brain-redis")
        self._db: Any = None
        self._no_worker_logged = 0.0

    # -- Service hooks ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the ordinary jobs and the brain's loop."""
        super().start()
        self._brain_task = self.loop.create_task(self._run())
        logger.info("brain mode: crawls go to workers through %s (batches of %d, lease %ds)",
                    self.config.workers.shown_url, self.config.workers.batch_size, self.config.workers.lease_seconds)

    def apply_config(self, config: Any) -> None:
        """As `Service.apply_config`; a changed `workers:` section applies after a restart (logged)."""
        if config.workers != self.config.workers:
            logger.warning("workers: changed; that applies after a restart of the daemon (this brain keeps %s)",
                           self.config.workers.shown_url)
            config = dataclasses.replace(config, workers=self.config.workers)
        super().apply_config(config)

    async def crawl(self, source_name: str) -> None:
        """A source is due: mark it; the brain's loop hands it to its site's worker."""
        if self._stopping:
            return
        self._due.setdefault(source_name, time.time())
        self._wake.set()

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop (open batches stay leased: their results are stored at the next start), then the rest."""
        self._stopping = True
        if self._brain_task is not None:
            self._brain_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._brain_task
        await super().stop(timeout)
        await self._on_db(self._close_db)
        self._db_pool.shutdown(wait=True)
        self._redis_pool.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self._redis.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _db_call(self, func: Any, *args: Any) -> Any:
        if self._db is None:
            self._db = open_store(self.config.database)
        return func(self._db, *args)

    def _close_db(self, _db: Any = None) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _on_db(self, func: Any, *args: Any) -> Any:
        if func is self._close_db:
            return await self.loop.run_in_executor(self._db_pool, self._close_db)
        return await self.loop.run_in_executor(self._db_pool, self._db_call, func, *args)

    async def _on_redis(self, func: Any, *args: Any) -> Any:
        return await self.loop.run_in_executor(self._redis_pool, func, self._redis, *args)

    # -- the loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._expire()
                await self._dispatch()
                results = await self._on_redis(engine.read_results, int(_TICK_SECONDS * 1000))
                stored = 0
                for entry_id, result in results:
                    stored += await self._collect(entry_id, result)
                if stored:
                    await self.match_new()
                    await self.deliver()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("brain loop failed; retrying in %.0fs", _TICK_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=_TICK_SECONDS)
            self._wake.clear()

    async def _collect(self, entry_id: str, result: dict[str, Any]) -> int:
        batch_id, worker = result["batch"], result["worker"]
        state = await self._on_db(ledger.batch_state, batch_id)
        if state in ("done", "late"):
            self.brain_stats.repeats += 1
            logger.info("result of batch %s from %s is a repeat (already stored); dropped", batch_id, worker)
            await self._on_redis(engine.ack, entry_id)
            return 0
        started = time.perf_counter()
        try:
            payload = read_bundle(result["bundle"])
        except ValueError:
            logger.error("result of batch %s from worker %s is unreadable; dropped (its sources are crawled "
                         "again at their next interval)", batch_id, worker, exc_info=True)
            await self._on_redis(engine.ack, entry_id)
            return 0
        report: IngestReport = await self._on_db(ingest_bundle, payload)
        await self._on_db(ledger.finish_batch, batch_id, report.articles, report.new_articles)
        self.brain_stats.ingest_seconds += time.perf_counter() - started
        self.brain_stats.ingested_articles += report.articles
        await self._on_redis(engine.ack, entry_id)
        self.brain_stats.collected += 1
        for item in payload["sources"]:
            self._count_crawl(CrawlReport(**item["report"]), report.new_per_source.get(item["name"], 0))
        logger.info("batch %s from %s stored%s: %d sources, %d articles, %d new", batch_id, worker,
                    "" if state == "leased" else f" (it was {state or 'unknown to this brain'})",
                    len(report.sources), report.articles, report.new_articles)
        return report.new_articles

    def _count_crawl(self, report: CrawlReport, new_articles: int) -> None:
        self.stats.crawls += 1
        self.metrics.articles.labels(report.source).inc(new_articles)
        self.stats.last_crawl[report.source] = report
        self.metrics.crawls.labels(report.source, report.error_class or "ok").inc()
        self.metrics.crawl_seconds.labels(report.source).observe(report.duration)
        if report.error_class:
            self.stats.crawl_failures += 1
            self._failures[report.source] = self._failures.get(report.source, 0) + 1
        else:
            self._failures[report.source] = 0
        self.metrics.source_failures.labels(report.source).set(self._failures[report.source])

    async def _expire(self) -> None:
        for batch in await self._on_db(ledger.expire_batches):
            self.brain_stats.expired += 1
            logger.warning("batch %s on worker %s not handed back within its lease: %d sources due again (%s)",
                           batch.id, batch.worker, len(batch.sources), ", ".join(batch.sources))
            for name in batch.sources:
                self._due.setdefault(name, time.time())

    async def _dispatch(self) -> None:
        if not self._due:
            return
        workers = sorted(await self._on_redis(engine.live_workers))
        if not workers:
            if time.monotonic() - self._no_worker_logged > 60:
                self._no_worker_logged = time.monotonic()
                logger.warning("%d sources due but no worker is alive; start one with `newswatch worker`",
                               len(self._due))
            return
        open_batches = await self._on_db(ledger.open_batches)
        busy_workers = {b.worker for b in open_batches}
        busy_sites = {s for b in open_batches for s in b.sites}
        busy_sources = {s for b in open_batches for s in b.sources}
        sites: dict[str, list[Any]] = {}
        for name in sorted(self._due, key=self._due.__getitem__):
            try:
                source = self.config.source(name)
            except KeyError:
                self._due.pop(name)  # removed by a reload
                continue
            if name in busy_sources:
                continue
            key = site_key(source.url)
            if key not in busy_sites:
                sites.setdefault(key, []).append(source)
        size = self.config.workers.batch_size
        for worker, keys in group_by_worker(list(sites), workers).items():
            if worker in busy_workers:
                continue
            chosen: list[str] = []
            specs: list[Any] = []
            for key in keys:  # whole sites, oldest due first, up to batch_size sources (at least one site)
                if specs and len(specs) + len(sites[key]) > size:
                    break
                chosen.append(key)
                specs.extend(sites[key])
            await self._hand_out(worker, chosen, specs)

    async def _hand_out(self, worker: str, sites: list[str], specs: list[Any]) -> None:
        settings = self.config.workers
        batch_id = uuid.uuid4().hex
        names = [s.name for s in specs]
        context = await self._on_db(source_context, specs, self.config.crawl.seen_url_days)
        batch = await self._on_db(ledger.open_batch, batch_id, worker, sites, names, settings.lease_seconds)
        kwargs = {"batch_id": batch_id, "sources": names, "context": context, "leased_until": batch.leased_until,
                  "lease_seconds": settings.lease_seconds}
        try:
            await self._on_redis(engine.enqueue_batch, worker, batch_id, kwargs, settings.lease_seconds)
        except Exception:
            logger.warning("could not queue batch %s for worker %s; its sources stay due", batch_id, worker,
                           exc_info=True)
            await self._on_db(ledger.abandon_batch, batch_id)
            return
        for name in names:
            self._due.pop(name, None)
        self.brain_stats.dispatched += 1
        logger.info("batch %s -> worker %s: %d sources on %s", batch_id, worker, len(names), ", ".join(sites))
