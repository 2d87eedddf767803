"""The crawl job: crawl a batch of sources with `crawler.crawl_sources`, then match and deliver what is new.

The dispatcher (`scheduler.jobs.dispatch`) decides which sources are due and hands them over in batches,
one Scrapy crawl per batch, never one source in two crawls at once. Crawls run on the event loop through
the one long-lived Scrapy runner (a reactor cannot restart, scrapy#5026). The crawl's outcome goes to
the Prometheus registry; its failures are counted by the store (`sources.consecutive_failures`), and a
failed crawl runs the health check, which reads them from there.

Settings read: `Config.sources`, `.crawl`, `.database`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from crawler import CrawlReport, crawl_sources
from scheduler.jobs.delivery import DeliverJob
from scheduler.jobs.matching import MatchJob
from scheduler.jobs.runtime import Runtime
from scheduler.jobs.watch import WatchJobs

logger = logging.getLogger(__name__)


class CrawlJob:
    """Crawls one source per run, then matches and delivers; knows the runs still in flight."""

    def __init__(self, runtime: Runtime, match: MatchJob, deliver: DeliverJob, watch: WatchJobs) -> None:
        self.runtime = runtime
        self.match = match
        self.deliver = deliver
        self.watch = watch
        self.in_flight: set[asyncio.Task[Any]] = set()

    async def run(self, source_name: str) -> None:
        """Crawl one source now (a batch of one), then match and deliver. Never raises."""
        await self.run_batch([source_name])

    async def run_batch(self, source_names: Sequence[str]) -> list[CrawlReport]:
        """Crawl the named sources in one crawl, then match what is new and deliver. Never raises.

        Returns:
            One report per source crawled (a source removed by a reload meanwhile is left out).
        """
        rt = self.runtime
        if rt.stopping:
            return []
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        reports: list[CrawlReport] = []
        try:
            sources = []
            for name in source_names:
                try:
                    sources.append(rt.config.source(name))
                except KeyError:
                    continue  # removed by a reload while this run was queued
            if not sources:
                return []
            reports = await crawl_sources(rt.runner, sources, rt.config.database, rt.config.crawl)
            for report in reports:
                self._record(report)
            if any(r.new_articles for r in reports):
                await self.match.run()
                await self.deliver.kick()  # not waiting for the sends: a hanging receiver holds no crawl
            if any(r.error_class for r in reports):
                await self.watch.check_sources()  # also exports the store's failure count
        except Exception:
            logger.exception("crawl of %s failed; it runs again at its next interval", ", ".join(source_names))
        finally:
            if task is not None:
                self.in_flight.discard(task)
        return reports

    def _record(self, report: CrawlReport) -> None:
        metrics = self.runtime.metrics
        metrics.crawls.labels(report.source, report.error_class or "ok").inc()
        metrics.crawl_seconds.labels(report.source).observe(report.duration)
        metrics.articles.labels(report.source).inc(report.new_articles)
        if not report.error_class:
            metrics.source_failures.labels(report.source).set(0)  # the store resets its count on success
        metrics.tick()

    async def wait(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for running crawls; cancel those still running then.

        A cancelled crawl keeps the articles it stored; what it had not fetched is fetched on the next
        start (seen URLs are only recorded once stored).
        """
        pending = {t for t in self.in_flight if not t.done()}
        if not pending:
            return
        logger.info("waiting up to %.0fs for %d running crawl(s) to finish", timeout, len(pending))
        _done, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=5)
