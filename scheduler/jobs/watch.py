"""Jobs that watch the daemon and its sources: the heartbeat, the source health check, notices.

- heartbeat: every `HEARTBEAT_SECONDS`, publish each job's next run and stamp the daemon's heartbeat
  (`scheduler.state.publish_jobs`) for `newswatch status`, which runs in another process;
- health check: every `HEALTH_CHECK_SECONDS` and after a failed crawl, read the sources' health from
  the store (`crawler.source_health`: the store is where failures are counted), export each
  source's consecutive failures and state (ok, empty, quiet, failing…) to `/metrics`, and tell the
  operations targets about sources failing longer than `operations.source_failing_after`, sources
  that have gone quiet (no new article for several times their usual gap, `crawler.source_states`),
  sources whose index has listed nothing for `operations.source_failing_after` (`empty`),
  and sources switched off after failing longer than `operations.disable_after` (each notice once);
- notices (`notify`) go through the outbox like any alert, once per key.

Both run in the status thread, never behind matching or a VACUUM in the maintenance thread.

Settings read: `Config.sources`, `.operations.targets`, `.operations.source_failing_after_seconds`,
`.database`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts import enqueue_notice
from crawler import SourceHealth, parse_iso, source_health
from crawler.source_states import index_name, should_disable
from crawler.store import disabled_sources, set_source_disabled
from scheduler.jobs.delivery import DeliverJob
from scheduler.jobs.runtime import Runtime
from scheduler.state import publish_jobs

logger = logging.getLogger(__name__)

HEALTH_CHECK_SECONDS = 60
HEARTBEAT_SECONDS = 5

JobList = Callable[[], Sequence[tuple[str, str, datetime | None]]]
Disabled = Callable[[set[str]], None]


def _lasted(since: str | None, limit: timedelta, now: datetime) -> bool:
    """Whether something that began at the stored time `since` (None: it is not going on) has lasted `limit`."""
    if not since:
        return False
    return now - parse_iso(since) >= limit


def failing_too_long(health: list[SourceHealth], limit: timedelta, now: datetime) -> list[SourceHealth]:
    """The sources whose current run of failures started more than `limit` before `now`."""
    return [source for source in health if _lasted(source.failing_since, limit, now)]


def empty_too_long(source: SourceHealth, limit: timedelta, now: datetime) -> bool:
    """Whether `source` is `empty` and its index has listed nothing for `limit` (one empty read is not news:
    a sitemap of the last two days can be empty over a holiday; a feed empty for hours has moved or broken)."""
    return source.state(now) == "empty" and _lasted(source.empty_since, limit, now)


def _enqueue(db: Any, targets: tuple[str, ...], key: str, subject: str, text: str) -> int:
    return enqueue_notice(db, targets, key=key, subject=subject, text=text)


class WatchJobs:
    """The heartbeat, the health check and operations notices."""

    def __init__(self, runtime: Runtime, deliver: DeliverJob, jobs: JobList,
                 on_disabled: Disabled | None = None) -> None:
        self.runtime = runtime
        self.deliver = deliver
        self.jobs = jobs
        self.on_disabled = on_disabled

    async def heartbeat(self) -> None:
        """Publish each job's next run for `newswatch status` and tick `/healthz`. Never raises."""
        rt = self.runtime
        try:
            await rt.in_db(rt.status_thread, publish_jobs, list(self.jobs()), rt.started)
        except Exception:
            logger.warning("could not publish the job list for status", exc_info=True)
        rt.metrics.tick()

    async def notify(self, key: str, subject: str, text: str) -> int:
        """Queue a notice for the operations targets, once per `key`; delivered like any alert."""
        rt = self.runtime
        targets = rt.config.operations.targets
        if not targets:
            logger.info("no operations target configured; notice not sent: %s", subject)
            return 0
        # The match thread writes the outbox for matches too: one writer of alerts at a time.
        queued: int = await rt.in_db(rt.match_thread, _enqueue, targets, key, subject, text)
        if queued:
            await self.deliver.kick()
        return queued

    def _export(self, health: list[SourceHealth], configured: set[str]) -> None:
        """Each configured source's failure count and state on `/metrics` (a removed source is left out)."""
        metrics, now = self.runtime.metrics, datetime.now(UTC)
        for source in health:
            if source.name in configured:
                metrics.source_failures.labels(source.name).set(source.consecutive_failures)
                metrics.source_state.labels(source.name).state(source.state(now))

    async def check_sources(self) -> None:
        """Export sources' failure counts and states; notify about those failing too long. Never raises."""
        rt = self.runtime
        try:
            health = await rt.in_db(rt.status_thread, source_health)
            config = rt.config
            configured = {s.name for s in config.sources}
            self._export(health, configured)
            limit = timedelta(seconds=config.operations.source_failing_after_seconds)
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
            await self._source_states(health, configured)
        except Exception:
            logger.exception("source health check failed; it runs again in %ds", HEALTH_CHECK_SECONDS)

    async def _source_states(self, health: list[SourceHealth], configured: set[str]) -> None:
        """Switch off sources failing too long, and tell about them, about sources that have listed nothing
        for `operations.source_failing_after`, and about sources gone quiet."""
        rt, now = self.runtime, datetime.now(UTC)
        limit = rt.config.operations.disable_after_seconds
        patience = timedelta(seconds=rt.config.operations.source_failing_after_seconds)
        for source in health:
            if source.name not in configured:
                continue
            if should_disable(source.facts(), now, limit):
                if await rt.in_db(rt.status_thread, set_source_disabled, source.name, True):
                    logger.warning("source %s disabled: failing since %s (%s)", source.name, source.failing_since,
                                   source.error_class)
                    await self.notify(
                        f"source-disabled:{source.name}:{source.failing_since}",
                        f"source {source.name} disabled after failing since {source.failing_since}",
                        f"{source.name} ({source.url}) failed every crawl since {source.failing_since} "
                        f"({source.error_class}: {source.error}) and is no longer crawled. Once it is fixed: "
                        f"newswatch sources enable {source.name}")
            elif empty_too_long(source, patience, now):
                await self.notify(
                    f"source-empty:{source.name}:{source.empty_since}",
                    f"source {source.name} has listed nothing since {source.empty_since}",
                    f"{source.name} ({source.url}) answers, but its {index_name(source.kind)} has listed no "
                    f"entries at any read since {source.empty_since}, so no story of it is collected. Its address "
                    "may have moved, or the page changed so that no link is found (newswatch status).")
            elif source.state(now) == "quiet":
                await self.notify(
                    f"source-quiet:{source.name}:{source.last_new_article or source.last_success}",
                    f"source {source.name} has gone quiet",
                    f"{source.name} ({source.url}) answers, but has brought no new article since "
                    f"{source.last_new_article or 'it was added'} although it usually publishes about "
                    f"{source.articles_per_day:g} a day. Its feed may have moved or stopped (newswatch status).")
        if self.on_disabled is not None:
            self.on_disabled(await rt.in_db(rt.status_thread, disabled_sources))
