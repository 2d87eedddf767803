"""The daemon's core: schedule the jobs of `scheduler.jobs` on one asyncio loop, and stop cleanly.

No signals, logging set-up or pidfiles here (`scheduler.app`), nor job bodies (`scheduler.jobs`):

- one dispatcher job, every second, that crawls the sources whose time has come together, in
  batches (one Scrapy crawl each, never one source in two at once; `scheduler.jobs.dispatch`), each
  source at its interval, adaptive between `min_every` and `max_every` when set; after each crawl,
  new articles are matched and the outbox drained;
- a delivery job on its own interval, so retries happen without new articles;
- the heartbeat for `newswatch status`, the source health check, pruning and compaction (the last
  two in a thread of their own, so matching and the heartbeat never wait behind a VACUUM).

A reload swaps everything between jobs, including a new Scrapy runner when `crawl:` changed; only
`database` and `crawl.extraction_workers` need a restart (the lock and the extraction pool are per
process). Counters live in one place, the Prometheus registry `Service.metrics`.

Settings read: `Config.sources`, `.crawl`, `.delivery.every_seconds`, `.retention.prune_every_seconds`,
`.retention.vacuum_every_seconds`, `.database`, `.targets` (the jobs read the rest).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crawler import close_shared_stores, make_runner, shutdown_pool
from scheduler import jobs
from scheduler.config import Config
from scheduler.jobs.dispatch import TICK_SECONDS
from scheduler.lock import DatabaseLock
from scheduler.metrics import Metrics
from scheduler.schema import open_store
from scheduler.state import clear_jobs

logger = logging.getLogger(__name__)

_DELIVERY_JOB = "deliver-outbox"


class Service:
    """Schedules crawls, matching and delivery for one Config on the running asyncio loop."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        # One daemon per database, for this Service's life (raises LockedError naming the holder).
        self._lock = DatabaseLock(config.database, "daemon")
        self._lock.acquire()
        self.runtime = jobs.Runtime(config, jobs.matcher_for(config), make_runner(config.crawl), loop)
        self.scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self.match = jobs.MatchJob(self.runtime)
        self.deliver = jobs.DeliverJob(self.runtime)
        self.watch = jobs.WatchJobs(self.runtime, self.deliver, self._job_list)
        self.crawl = jobs.CrawlJob(self.runtime, self.match, self.deliver, self.watch)
        self.dispatcher = jobs.Dispatcher(self.crawl.run_batch)
        open_store(config.database).close()  # apply the migrations (and fail early on a bad path or newer file)

    @property
    def config(self) -> Config:
        """The configuration running now (a reload swaps it)."""
        return self.runtime.config

    @property
    def metrics(self) -> Metrics:
        """The daemon's counters (Prometheus); read them back with `Metrics.value`."""
        return self.runtime.metrics

    def start(self) -> None:
        """Add every job and start the scheduler; the first crawls start within seconds."""
        config, now = self.config, datetime.now(UTC)
        self.dispatcher.start(config.sources, now)  # first crawls staggered over the first seconds
        self.scheduler.add_job(self.dispatcher.tick, IntervalTrigger(seconds=TICK_SECONDS),
                               id="dispatch-crawls", name="crawl due sources", next_run_time=now)
        self.scheduler.add_job(self.deliver.kick, IntervalTrigger(seconds=config.delivery.every_seconds),
                               id=_DELIVERY_JOB, name="deliver outbox", next_run_time=now)
        self.scheduler.add_job(self.watch.heartbeat, IntervalTrigger(seconds=jobs.HEARTBEAT_SECONDS),
                               id="heartbeat", name="heartbeat", next_run_time=now)
        self.scheduler.add_job(self.watch.check_sources, IntervalTrigger(seconds=jobs.HEALTH_CHECK_SECONDS),
                               id="check-sources", name="check source health")
        self._schedule_housekeeping()
        jobs.backfill(self.runtime, tuple(config.targets), config)  # stories matched while a target was off
        self.scheduler.start()
        logger.info("newswatch started: %d sources, %d watchlists, %d targets (%s disabled), database %s",
                    len(config.sources), len(config.watchlists), len(config.targets),
                    len(config.disabled_targets), config.database)

    def _schedule_housekeeping(self) -> None:
        retention = self.config.retention
        for job_id, name, every, vacuum in (("prune", "prune old data", retention.prune_every_seconds, False),
                                            ("compact", "compact database", retention.vacuum_every_seconds, True)):
            self.scheduler.add_job(jobs.housekeeping, IntervalTrigger(seconds=every), args=[self.runtime, vacuum],
                                   id=job_id, name=name, replace_existing=True)

    def _job_list(self) -> list[tuple[str, str, datetime | None]]:
        scheduled = [(job.id, job.name, job.next_run_time) for job in self.scheduler.get_jobs()]
        return scheduled + self.dispatcher.jobs()

    def next_runs(self) -> dict[str, datetime | None]:
        """Job id -> its next run time (for status and tests)."""
        return {job_id: when for job_id, _name, when in self._job_list()}

    def apply_config(self, config: Config) -> None:
        """Swap in a new, already validated config: reschedule sources, swap watchlists and crawl options.

        Running jobs finish with the config (and Scrapy runner) they started with; the next ones use the
        new one. Changed `crawl:` options get a new Scrapy runner (user agent, timeouts, concurrency...),
        except `crawl.extraction_workers`, and `database`, which apply after a restart (logged).
        """
        rt, old = self.runtime, self.config
        config = rt.swap(config)
        turned_on = tuple(t for t in config.targets if t not in old.targets)
        old_sources = {s.name: s for s in old.sources}
        for source in config.sources:
            if old_sources.get(source.name) != source:
                logger.info("source %s %s: crawling every %ds", source.name,
                            "changed" if source.name in old_sources else "added", source.every_seconds)
        self.dispatcher.set_sources(config.sources)  # removed ones dropped, new or changed ones due now
        self.scheduler.reschedule_job(_DELIVERY_JOB, trigger=IntervalTrigger(seconds=config.delivery.every_seconds))
        self._schedule_housekeeping()
        jobs.backfill(rt, turned_on, config)
        logger.info("configuration reloaded: %d sources, %d watchlists", len(config.sources), len(config.watchlists))

    async def notify(self, key: str, subject: str, text: str) -> int:
        """Queue a notice for the operations targets, once per `key`; delivered like any alert."""
        return await self.watch.notify(key, subject, text)

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling, let in-flight crawls finish (up to `timeout`), flush the outbox, shut down.

        A crawl still running after `timeout` is cancelled. The blocking part of shutting down (joining
        threads and the extraction pool, closing the store) runs off the loop, so it stays responsive.
        """
        rt = self.runtime
        rt.stopping = True
        started = time.monotonic()
        self.scheduler.pause()
        await self.crawl.wait(timeout)
        remaining = max(1.0, timeout - (time.monotonic() - started))
        try:
            await asyncio.wait_for(self._flush(), timeout=remaining)
            await self.deliver.idle(max(1.0, timeout - (time.monotonic() - started)))
        except TimeoutError:
            logger.warning("outbox flush did not finish in time; pending alerts are sent on the next start")
        self.scheduler.shutdown(wait=False)
        try:
            await rt.in_db(rt.status_thread, clear_jobs)
        except Exception:
            logger.warning("could not clear the published job list", exc_info=True)
        await asyncio.to_thread(self._release)
        logger.info("newswatch stopped: %d crawls, %d alerts delivered",
                    rt.metrics.total("newswatch_crawls_total"),
                    rt.metrics.value("newswatch_deliveries_total", {"outcome": "delivered"}))

    def _release(self) -> None:
        shutdown_pool()
        close_shared_stores()
        self.runtime.join_threads()
        self._lock.release()

    async def _flush(self) -> None:
        await self.match.run()
        await self.deliver.run()
