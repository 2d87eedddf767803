"""The brain: the daemon with `workers:` on. It decides what is due, hands it out, and stores what comes back.

`BrainService` is the ordinary `Service` (same dispatcher deciding what is due, with the same
adaptive intervals; same matching, delivery, health checks and housekeeping; still the only writer of
the SQLite file) except that the dispatcher's batches are not crawled in the daemon: its crawl
function (`_crawl_batch`) puts the sources on the brain's due list and waits until workers have
handed each one back; one loop (`BrainService._run`) does the rest, about once a second and at once
when a result arrives:

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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crawler import CrawlReport
from crawler.handoff import IngestReport, ingest_bundle, read_bundle, source_context
from scheduler.config import Config
from scheduler.service import Service
from scheduler.workers import engine, ledger
from scheduler.workers.affinity import group_by_worker, site_key

logger = logging.getLogger(__name__)

__all__ = ["BrainService", "BrainStats"]

_TICK_SECONDS = 1.0


@dataclass
class BrainStats:
    """Counters of the brain's loop (logs and tests)."""

    dispatched: int = 0
    collected: int = 0
    repeats: int = 0
    expired: int = 0


class BrainService(Service):
    """A `Service` whose crawls run on workers (see the module docstring)."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(config, loop)
        self.brain_stats = BrainStats()
        self._due: dict[str, float] = {}  # source -> when it was handed to the brain
        self._waiting: dict[str, asyncio.Future[CrawlReport | None]] = {}
        self._brain_task: asyncio.Task[None] | None = None
        self._redis = engine.connect(config.workers.redis_url)
        # The brain's store work (ledger, ingest) in one thread with its own connection; Redis in another.
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="newswatch-brain-db")
        self._redis_thread = ThreadPoolExecutor(1, thread_name_prefix="newswatch-brain-redis")
        self._no_worker_logged = 0.0

    async def _crawl_batch(self, source_names: Sequence[str]) -> list[CrawlReport]:
        """The dispatcher's crawl function, on workers: hand the sources out, return their reports when back.

        What is due, and when, stays the Service's decision (its dispatcher calls this).
        """
        waits = []
        for name in source_names:
            future = self._waiting.get(name)
            if future is None or future.done():
                future = self._waiting[name] = self.runtime.loop.create_future()
            self._due.setdefault(name, time.time())
            waits.append(future)
        reports = await asyncio.gather(*waits)
        return [r for r in reports if r is not None]

    def _answer(self, name: str, report: CrawlReport | None) -> None:
        future = self._waiting.pop(name, None)
        if future is not None and not future.done():
            future.set_result(report)

    # -- Service hooks ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the ordinary jobs and the brain's loop."""
        super().start()
        self._brain_task = self.runtime.loop.create_task(self._run())
        workers = self.config.workers
        logger.info("brain mode: crawls go to workers through %s (batches of %d, lease %ds)",
                    workers.shown_url, workers.batch_size, workers.lease_seconds)

    def apply_config(self, config: Config) -> None:
        """As `Service.apply_config`; a changed `workers:` section applies after a restart (logged)."""
        if config.workers != self.config.workers:
            logger.warning("workers: changed; that applies after a restart of the daemon (this brain keeps %s)",
                           self.config.workers.shown_url)
            config = dataclasses.replace(config, workers=self.config.workers)
        super().apply_config(config)

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop (open batches stay leased: their results are stored at the next start), then the rest."""
        self.runtime.stopping = True
        for name in list(self._waiting):  # the dispatcher's batches end; open batches stay leased
            self._answer(name, None)
        if self._brain_task is not None:
            self._brain_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._brain_task
        await asyncio.to_thread(self._db_thread.shutdown, True)
        await asyncio.to_thread(self._redis_thread.shutdown, True)
        with contextlib.suppress(Exception):
            self._redis.close()
        await super().stop(timeout)  # closes every thread's store connection, ours included

    # -- plumbing ---------------------------------------------------------------------------
    async def _on_db(self, func: Any, *args: Any) -> Any:
        return await self.runtime.in_db(self._db_thread, func, *args)

    async def _on_redis(self, func: Any, *args: Any) -> Any:
        return await self.runtime.in_thread(self._redis_thread, func, self._redis, *args)

    # -- the loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self.runtime.stopping:
            try:
                await self._expire()
                await self._dispatch()
                results = await self._on_redis(engine.read_results, int(_TICK_SECONDS * 1000))
                stored, failed = 0, 0
                for entry_id, result in results:
                    new, bad = await self._collect(entry_id, result)
                    stored, failed = stored + new, failed + bad
                if stored:
                    await self.match.run()
                    await self.deliver.kick()  # not waiting for the sends, as after a local crawl
                if failed:
                    await self.watch.check_sources()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("brain loop failed; retrying in %.0fs", _TICK_SECONDS)
                await asyncio.sleep(_TICK_SECONDS)  # a pause before retrying a failure, not a wait for an event

    async def _collect(self, entry_id: str, result: dict[str, Any]) -> tuple[int, int]:
        batch_id, worker = result["batch"], result["worker"]
        batch = await self._on_db(ledger.get_batch, batch_id)
        state = batch.state if batch is not None else None
        if state in ("done", "late"):
            self.brain_stats.repeats += 1
            logger.info("result of batch %s from %s is a repeat (already stored); dropped", batch_id, worker)
            await self._on_redis(engine.ack, entry_id)
            return 0, 0
        try:
            payload = read_bundle(result["bundle"])
        except ValueError:
            logger.error("result of batch %s from worker %s is unreadable; dropped (its sources are crawled "
                         "again at their next interval)", batch_id, worker, exc_info=True)
            await self._on_redis(engine.ack, entry_id)
            return 0, 0
        report: IngestReport = await self._on_db(ingest_bundle, payload)
        await self._on_db(ledger.finish_batch, batch_id, report.articles, report.new_articles)
        await self._on_redis(engine.ack, entry_id)
        self.brain_stats.collected += 1
        for item in payload["sources"]:
            new = report.new_per_source.get(item["name"], 0)
            crawl = dataclasses.replace(CrawlReport(**item["report"]), new_articles=new)
            self._record(crawl)
            self._answer(item["name"], crawl)
        for name in batch.sources if batch is not None else ():
            self._due.pop(name, None)
            self._answer(name, None)  # not in the worker's config: crawled again at its next interval
        logger.info("batch %s from %s stored%s: %d sources, %d articles, %d new", batch_id, worker,
                    "" if state == "leased" else f" (it was {state or 'unknown to this brain'})",
                    len(report.sources), report.articles, report.new_articles)
        return report.new_articles, report.failed

    def _record(self, report: CrawlReport) -> None:
        # As a local crawl records itself (scheduler.jobs.crawling), with the articles new to this store.
        metrics = self.runtime.metrics
        metrics.crawls.labels(report.source, report.error_class or "ok").inc()
        metrics.crawl_seconds.labels(report.source).observe(report.duration)
        metrics.articles.labels(report.source).inc(report.new_articles)
        if not report.error_class:
            metrics.source_failures.labels(report.source).set(0)
        metrics.tick()

    async def _expire(self) -> None:
        for batch in await self._on_db(ledger.expire_batches):
            self.brain_stats.expired += 1
            logger.warning("batch %s on worker %s not handed back within its lease: %d sources due again (%s)",
                           batch.id, batch.worker, len(batch.sources), ", ".join(batch.sources))
            for name in batch.sources:
                if name in self._waiting:  # still wanted (not removed by a reload)
                    self._due.setdefault(name, time.time())

    async def _dispatch(self) -> None:
        due = self._due
        if not due:
            return
        workers = sorted(await self._on_redis(engine.live_workers))
        if not workers:
            if time.monotonic() - self._no_worker_logged > 60:
                self._no_worker_logged = time.monotonic()
                logger.warning("%d sources due but no worker is alive; start one with `newswatch worker`", len(due))
            return
        open_batches = await self._on_db(ledger.open_batches)
        busy_workers = {b.worker for b in open_batches}
        busy_sites = {s for b in open_batches for s in b.sites}
        busy_sources = {s for b in open_batches for s in b.sources}
        sites: dict[str, list[Any]] = {}
        for name in sorted(due, key=due.__getitem__):
            try:
                source = self.config.source(name)
            except KeyError:
                due.pop(name)  # removed by a reload
                self._answer(name, None)
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
