"""The daemon's core: APScheduler jobs that crawl, match and deliver, on one asyncio loop.

`Service` knows nothing about signals, logging set-up or pidfiles (that is `scheduler.app`); it only
schedules and runs jobs, and stops cleanly when asked:

- one crawl job per source, at its interval with jitter, `max_instances=1` (never two crawls of one
  source at once) and `coalesce=True` (runs missed during a sleep or outage fold into one);
- after each crawl, new articles are matched (one worker thread owns matching, so the alerts cursor
  is never advanced twice at once) and the outbox is drained;
- a delivery job drains the outbox on its own interval too, so retries happen without new articles.

Crawls run in-process on the one long-lived Scrapy runner (a reactor cannot restart, scrapy#5026);
blocking work (SQLite writes, requests, smtplib) runs in worker threads, never on the loop.

A reload swaps everything between jobs, including a new Scrapy runner when `crawl:` changed; only
`database` and `crawl.extraction_workers` need a restart (the lock and the extraction pool are per process).

Settings read: `Config.sources`, `.crawl`, `.delivery`, `.database`, `.watchlists`, `.targets`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from alerts import (
    DeliveryReport,
    Matcher,
    ProcessReport,
    backfill_targets,
    compile_matcher,
    deliver_due,
    delivery_latencies,
    enqueue_notice,
    process_new_articles,
)
from crawler import (
    CrawlReport,
    SourceHealth,
    close_shared_stores,
    crawl_source,
    make_runner,
    open_store,
    shutdown_pool,
    source_health,
)
from scheduler.config import Config
from scheduler.lock import DatabaseLock
from scheduler.maintenance import prune
from scheduler.metrics import Metrics
from scheduler.state import clear_jobs, publish_jobs

logger = logging.getLogger(__name__)

T = TypeVar("T")

_DELIVERY_JOB = "deliver-outbox"
_HEARTBEAT_JOB = "heartbeat"
_PRUNE_JOB = "prune"
_VACUUM_JOB = "compact"
_HEALTH_JOB = "check-sources"
HEALTH_CHECK_SECONDS = 60
HEARTBEAT_SECONDS = 5


def failing_too_long(health: list[SourceHealth], limit: timedelta, now: datetime) -> list[SourceHealth]:
    """The sources whose current run of failures started more than `limit` before `now`."""
    late = []
    for source in health:
        if not source.failing_since:
            continue
        since = datetime.fromisoformat(source.failing_since)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if now - since >= limit:
            late.append(source)
    return late


def _matcher_for(config: Config) -> Matcher:
    # load_config compiled the watchlists to validate them; reuse that instead of compiling again.
    if config.matcher is not None:
        return config.matcher
    return compile_matcher(config.watchlists, config.gazetteer)


def _enqueue(db: Any, targets: tuple[str, ...], key: str, subject: str, text: str) -> int:
    return enqueue_notice(db, targets, key=key, subject=subject, text=text)


def _crawl_job_id(source_name: str) -> str:
    return f"crawl:{source_name}"


@dataclass
class ServiceStats:
    """Counters the daemon keeps for logs, `/metrics` and tests."""

    crawls: int = 0
    crawl_failures: int = 0
    articles: int = 0
    matched: int = 0
    alerts_enqueued: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    last_crawl: dict[str, CrawlReport] = field(default_factory=dict)


class Service:
    """Schedules crawls, matching and delivery for one Config on the running asyncio loop."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        # One daemon per database, for this Service's life (raises LockedError naming the holder).
        self._lock = DatabaseLock(config.database, "daemon")
        self._lock.acquire()
        self.config = config
        self.loop = loop
        self.stats = ServiceStats()
        self.metrics = Metrics()
        self.matcher: Matcher = _matcher_for(config)
        self.runner = make_runner(config.crawl)
        # One thread owns matching (the alerts cursor), one owns delivery: no two writers race.
        self._match_pool = ThreadPoolExecutor(1, thread_name_prefix="newswatch-match")
        self._delivery_pool = ThreadPoolExecutor(1, thread_name_prefix="newswatch-deliver")
        self._match_lock = asyncio.Lock()
        self._delivery_lock = asyncio.Lock()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._failures: dict[str, int] = {}
        self._stopping = False
        self._started = datetime.now(UTC)
        self.scheduler = AsyncIOScheduler(
            event_loop=loop,
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        open_store(config.database).close()  # create the schema (and fail early on a bad path)

    # -- scheduling -------------------------------------------------------------------------
    def start(self) -> None:
        """Add every job and start the scheduler; the first crawls start within seconds."""
        self._schedule_sources()
        now = datetime.now(UTC)
        self.scheduler.add_job(self.deliver, IntervalTrigger(seconds=self.config.delivery.every_seconds),
                               id=_DELIVERY_JOB, name="deliver outbox", next_run_time=now)
        self.scheduler.add_job(self.heartbeat, IntervalTrigger(seconds=HEARTBEAT_SECONDS), id=_HEARTBEAT_JOB,
                               name="heartbeat", next_run_time=now)
        self.scheduler.add_job(self.check_sources, IntervalTrigger(seconds=HEALTH_CHECK_SECONDS), id=_HEALTH_JOB,
                               name="check source health")
        self._schedule_housekeeping()
        # Stories matched while a target was off are queued once now (alerts.delivery.backfill; idempotent).
        self._with_db(backfill_targets, tuple(self.config.targets), self.config.routes(),
                      self.config.delivery.backfill_seconds)
        self.scheduler.start()
        logger.info("newswatch started: %d sources, %d watchlists, %d targets (%s disabled), database %s",
                    len(self.config.sources), len(self.config.watchlists), len(self.config.targets),
                    len(self.config.disabled_targets), self.config.database)

    def _schedule_sources(self) -> None:
        now = datetime.now(UTC)
        for index, source in enumerate(self.config.sources):
            jitter = max(1, min(30, source.every_seconds // 10))
            self.scheduler.add_job(
                self.crawl, IntervalTrigger(seconds=source.every_seconds, jitter=jitter),
                args=[source.name], id=_crawl_job_id(source.name), name=f"crawl {source.name}",
                # Stagger first runs so a cold start does not hit every site in the same second.
                next_run_time=now + timedelta(seconds=min(index * 0.2, 10)), replace_existing=True,
            )

    def _schedule_housekeeping(self) -> None:
        retention = self.config.retention
        self.scheduler.add_job(self.housekeeping, IntervalTrigger(seconds=retention.prune_every_seconds),
                               args=[False], id=_PRUNE_JOB, name="prune old data", replace_existing=True)
        self.scheduler.add_job(self.housekeeping, IntervalTrigger(seconds=retention.vacuum_every_seconds),
                               args=[True], id=_VACUUM_JOB, name="compact database", replace_existing=True)

    def next_runs(self) -> dict[str, datetime | None]:
        """Job id -> its next run time (for status and tests)."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def apply_config(self, config: Config) -> None:
        """Swap in a new, already validated config: reschedule sources, swap watchlists and crawl options.

        Running jobs finish with the config (and Scrapy runner) they started with; the next ones use the
        new one. Changed `crawl:` options get a new Scrapy runner (user agent, timeouts, concurrency...),
        except `crawl.extraction_workers`, and `database`, which apply after a restart (logged).
        """
        if config.database != self.config.database:
            logger.warning("database changed to %s: that applies after a restart; this daemon keeps using %s "
                           "(and its lock)", config.database, self.config.database)
            config = dataclasses.replace(config, database=self.config.database)
        matcher = _matcher_for(config)  # compiled once, by validation
        old_sources = {s.name: s for s in self.config.sources}
        new_sources = {s.name: s for s in config.sources}
        if config.crawl != self.config.crawl:
            changed = [f.name for f in dataclasses.fields(config.crawl)
                       if getattr(config.crawl, f.name) != getattr(self.config.crawl, f.name)]
            self.runner = make_runner(config.crawl)
            logger.info("crawl options changed (%s): crawls from now on use them", ", ".join(changed))
            if "extraction_workers" in changed:
                logger.warning("crawl.extraction_workers applies after a restart: the extraction pool is sized "
                               "once per process")
        turned_on = tuple(t for t in config.targets if t not in self.config.targets)
        self.config, self.matcher = config, matcher
        for name in old_sources.keys() - new_sources.keys():
            self.scheduler.remove_job(_crawl_job_id(name))
            logger.info("source %s removed: no longer crawled", name)
        now = datetime.now(UTC)
        for name, source in new_sources.items():
            if old_sources.get(name) == source:
                continue
            jitter = max(1, min(30, source.every_seconds // 10))
            self.scheduler.add_job(self.crawl, IntervalTrigger(seconds=source.every_seconds, jitter=jitter),
                                   args=[name], id=_crawl_job_id(name), name=f"crawl {name}",
                                   next_run_time=now, replace_existing=True)
            logger.info("source %s %s: crawling every %ds", name,
                        "changed" if name in old_sources else "added", source.every_seconds)
        self.scheduler.reschedule_job(_DELIVERY_JOB, trigger=IntervalTrigger(seconds=config.delivery.every_seconds))
        self._schedule_housekeeping()
        self._with_db(backfill_targets, turned_on, config.routes(), config.delivery.backfill_seconds)
        logger.info("configuration reloaded: %d sources, %d watchlists", len(config.sources), len(config.watchlists))

    # -- jobs -------------------------------------------------------------------------------
    async def crawl(self, source_name: str) -> None:
        """Crawl one source, then match what is new and deliver. Never raises (a job must not die)."""
        if self._stopping:
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            try:
                source = self.config.source(source_name)
            except KeyError:
                return  # removed by a reload while this run was queued
            report = await crawl_source(self.runner, source, self.config.database, self.config.crawl)
            self.stats.crawls += 1
            self.stats.last_crawl[source_name] = report
            self.metrics.crawls.labels(source_name, report.error_class or "ok").inc()
            self.metrics.crawl_seconds.labels(source_name).observe(report.duration)
            self.metrics.articles.labels(source_name).inc(report.new_articles)
            if report.error_class:
                self.stats.crawl_failures += 1
                self._failures[source_name] = self._failures.get(source_name, 0) + 1
            else:
                self._failures[source_name] = 0
            self.metrics.source_failures.labels(source_name).set(self._failures[source_name])
            self.metrics.tick()
            if report.new_articles:
                await self.match_new()
                await self.deliver()
            if report.error_class:
                await self.check_sources()
        except Exception:
            logger.exception("crawl job for %s failed; it will run again at its next interval", source_name)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def match_new(self) -> ProcessReport | None:
        """Match every article not matched yet; enqueue alerts (in a worker thread)."""
        async with self._match_lock:
            matcher, routes = self.matcher, self.config.routes()
            try:
                report: ProcessReport = await self._in_thread(self._match_pool, self._with_db, process_new_articles,
                                                              matcher.match, routes)
            except Exception:
                logger.exception("matching failed; the articles stay queued and are retried")
                return None
        self.stats.articles += report.articles
        self.stats.matched += report.matched
        self.stats.alerts_enqueued += report.alerts_enqueued
        self.metrics.matched.inc(report.matched)
        self.metrics.alerts.inc(report.alerts_enqueued)
        if report.articles:
            logger.info("matched %d new articles: %d matched a watchlist, %d alerts queued",
                        report.articles, report.matched, report.alerts_enqueued)
        return report

    async def deliver(self) -> DeliveryReport | None:
        """Drain the due part of the outbox (in a worker thread). Never raises."""
        async with self._delivery_lock:
            try:
                report: DeliveryReport = await self._in_thread(self._delivery_pool, self._with_db, self._deliver_with)
            except Exception:
                logger.exception("delivery run failed; undelivered alerts stay in the outbox")
                return None
        self.stats.delivered += report.delivered
        self.stats.delivery_failures += report.failed
        self.metrics.deliveries.labels("delivered").inc(report.delivered)
        self.metrics.deliveries.labels("failed").inc(report.failed)
        self.metrics.deliveries.labels("dead").inc(report.dead)
        self.metrics.tick()
        return report

    def _deliver_with(self, db: Any) -> DeliveryReport:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        report = deliver_due(db, self.config.targets, max_attempts=self.config.delivery.max_attempts,
                             backoff_base=self.config.delivery.retry_base_seconds)
        if report.delivered:
            for target, from_publication, from_fetch in delivery_latencies(db, started):
                self.metrics.publication_to_alert.labels(target).observe(from_publication)
                self.metrics.fetch_to_alert.labels(target).observe(from_fetch)
        return report

    async def heartbeat(self) -> None:
        """Publish each job's next run for `newswatch status` (another process) and tick the health check."""
        jobs = [(job.id, job.name, job.next_run_time) for job in self.scheduler.get_jobs()]
        try:
            await self._in_thread(self._match_pool, self._with_db, publish_jobs, jobs, self._started)
        except Exception:
            logger.warning("could not publish the job list for status", exc_info=True)
        self.metrics.tick()

    async def notify(self, key: str, subject: str, text: str) -> int:
        """Queue a notice for the operations targets, once per `key`; delivered like any alert."""
        targets = self.config.operations.targets
        if not targets:
            logger.info("no operations target configured; notice not sent: %s", subject)
            return 0
        queued: int = await self._in_thread(self._match_pool, self._with_db, _enqueue, targets, key, subject, text)
        if queued:
            await self.deliver()
        return queued

    async def check_sources(self) -> None:
        """Tell the operations targets about sources failing longer than `operations.source_failing_after`."""
        try:
            health = await self._in_thread(self._match_pool, self._with_db, source_health)
            limit = timedelta(seconds=self.config.operations.source_failing_after_seconds)
            configured = {s.name for s in self.config.sources}
            for source in failing_too_long(health, limit, datetime.now(UTC)):
                if source.name not in configured:
                    continue
                await self.notify(
                    f"source-failing:{source.name}:{source.failing_since}",
                    f"source {source.name} has been failing since {source.failing_since}",
                    f"{source.name} ({source.url}) has failed {source.consecutive_failures} crawls in a row since "
                    f"{source.failing_since}: {source.error_class}: {source.error}. Its stories are not being "
                    "collected. Check the URL, or whether the site blocks the crawler (newswatch status).",
                )
        except Exception:
            logger.exception("source health check failed; it runs again in %ds", HEALTH_CHECK_SECONDS)

    async def housekeeping(self, vacuum: bool) -> None:
        """Prune old article bodies and seen URLs; compact the file when `vacuum`. Never raises."""
        try:
            await self._in_thread(self._match_pool, prune, self.config, vacuum=vacuum)
        except Exception:
            logger.exception("pruning failed; it runs again at its next interval")

    def _with_db(self, func: Callable[..., T], *args: Any) -> T:
        db = open_store(self.config.database)
        try:
            return func(db, *args)
        finally:
            db.close()

    async def _in_thread(self, pool: ThreadPoolExecutor, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.loop.run_in_executor(pool, functools.partial(func, *args, **kwargs))

    # -- stopping ---------------------------------------------------------------------------
    async def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling, let in-flight crawls finish (up to `timeout`), flush the outbox, shut down.

        A crawl still running after `timeout` is cancelled: its articles stored so far are kept, and
        what it had not fetched is fetched on the next start (seen URLs are only recorded once stored).
        """
        self._stopping = True
        started = time.monotonic()
        self.scheduler.pause()
        pending = {t for t in self._in_flight if not t.done()}
        if pending:
            logger.info("waiting up to %.0fs for %d running crawl(s) to finish", timeout, len(pending))
            _done, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=5)
        remaining = max(1.0, timeout - (time.monotonic() - started))
        try:
            await asyncio.wait_for(self._flush(), timeout=remaining)
        except TimeoutError:
            logger.warning("outbox flush did not finish in time; pending alerts are sent on the next start")
        self.scheduler.shutdown(wait=False)
        try:
            await self._in_thread(self._match_pool, self._with_db, clear_jobs)
        except Exception:
            logger.warning("could not clear the published job list", exc_info=True)
        shutdown_pool()
        close_shared_stores()
        self._match_pool.shutdown(wait=True)
        self._delivery_pool.shutdown(wait=True)
        self._lock.release()
        logger.info("newswatch stopped")

    async def _flush(self) -> None:
        await self.match_new()
        await self.deliver()
