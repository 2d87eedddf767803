"""Which sources are due, and crawling the due ones together: one Scrapy crawl per batch, not per source.

Each source used to be its own APScheduler job and its own Scrapy crawl. A crawl has a fixed cost
(a crawler, a spider, an engine, their signals and stats) of tens of milliseconds of CPU, so on a
2-core box 500 sources every 10 s could not keep up (~3 feed fetches/s of the 50/s needed). Now one
dispatcher job ticks every :data:`TICK_SECONDS`, takes every source whose time has come (or comes
within the tick) and is not already being crawled, and crawls them in one spider, in chunks of at
most :data:`MAX_BATCH` sources, at most :data:`MAX_CONCURRENT_BATCHES` crawls at a time. Politeness
is unchanged: Scrapy's per-domain concurrency and delay apply within a crawl, and one source is never
in two crawls at once.

Each source's next time is its last start plus its interval. The interval is ``every`` unless the
source sets ``min_every``/``max_every``, in which case it adapts to how often the source publishes
(``crawler.polling``: the square-root rule over a decayed publishing-rate estimate). A failed crawl
keeps ``every`` (a failure says nothing about how often the outlet publishes), or waits longer when
the server sent ``Retry-After``. The publisher's freshness hints (``Cache-Control: max-age``, the feed's
``<ttl>`` or ``sy:updatePeriod``) are a floor of an adaptive interval (``crawler.polling``).

The due table lives in memory: after a restart every source is due within the first seconds,
staggered over :data:`START_SPREAD_SECONDS`, as before. ``newswatch status`` reads each source's next
time through :meth:`Dispatcher.jobs`, published with the heartbeat.

Settings read: `Config.sources` (their `every`, `min_every`, `max_every`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crawler import CrawlReport, SourceSpec
from crawler.polling import RateEstimate, next_interval, observe, retry_after_delay

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
MAX_BATCH = 250  # sources per crawl: bounds one crawl's memory and how long a slow site can hold a batch
MAX_CONCURRENT_BATCHES = 4
START_SPREAD_SECONDS = 10.0

CrawlBatch = Callable[[Sequence[str]], Awaitable[Sequence[CrawlReport]]]


def crawl_job_id(source_name: str) -> str:
    """The id under which a source's next crawl is published (`newswatch status` looks it up)."""
    return f"crawl:{source_name}"


@dataclass
class _Schedule:
    due: datetime
    estimate: RateEstimate = field(default_factory=RateEstimate)
    last_start: datetime | None = None
    interval: float = 0.0


class Dispatcher:
    """The due table and the tick that starts batch crawls; owns no crawling code itself."""

    def __init__(self, crawl_batch: CrawlBatch) -> None:
        self._crawl_batch = crawl_batch
        self._schedules: dict[str, _Schedule] = {}
        self._sources: dict[str, SourceSpec] = {}
        self.in_flight: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.disabled: set[str] = set()  # switched off after failing too long (the health check says)

    def set_disabled(self, names: set[str]) -> None:
        """The sources not to crawl until re-enabled (`newswatch sources enable NAME`)."""
        for name in names - self.disabled:
            logger.info("source %s is disabled: not crawled until `newswatch sources enable %s`", name, name)
        self.disabled = set(names)

    def set_sources(self, sources: Iterable[SourceSpec], now: datetime | None = None,
                    changed_due_now: bool = True) -> None:
        """Take a (new) source list: new or changed sources are due now, removed ones are dropped."""
        now = now or datetime.now(UTC)
        new = {s.name: s for s in sources}
        for name in self._schedules.keys() - new.keys():
            del self._schedules[name]
            logger.info("source %s removed: no longer crawled", name)
        for name, source in new.items():
            old = self._sources.get(name)
            if name not in self._schedules:
                self._schedules[name] = _Schedule(due=now)
            elif old != source and changed_due_now:
                self._schedules[name].due = now
        self._sources = new

    def start(self, sources: Sequence[SourceSpec], now: datetime | None = None) -> None:
        """Schedule the first crawls, spread over the first seconds so a cold start is not one burst."""
        now = now or datetime.now(UTC)
        self.set_sources(sources, now)
        spread = START_SPREAD_SECONDS / max(len(sources), 1)
        for index, source in enumerate(sources):
            self._schedules[source.name].due = now + timedelta(seconds=min(index * spread, START_SPREAD_SECONDS))

    def due_now(self, now: datetime) -> list[str]:
        """Sources whose time has come within the next tick and that are not being crawled."""
        horizon = now + timedelta(seconds=TICK_SECONDS)
        due = [(s.due, name) for name, s in self._schedules.items()
               if s.due <= horizon and name not in self.in_flight and name not in self.disabled]
        return [name for _due, name in sorted(due)]

    async def tick(self) -> None:
        """Start batch crawls for the due sources (the APScheduler job; never raises)."""
        try:
            now = datetime.now(UTC)
            due = self.due_now(now)
            while due and len(self.tasks) < MAX_CONCURRENT_BATCHES:
                batch, due = due[:MAX_BATCH], due[MAX_BATCH:]
                for name in batch:
                    self.in_flight.add(name)
                    self._schedules[name].last_start = now
                task = asyncio.get_running_loop().create_task(self._run(batch, now))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        except Exception:
            logger.exception("the crawl dispatcher failed a tick; it ticks again in %gs", TICK_SECONDS)

    async def _run(self, batch: list[str], started: datetime) -> None:
        reports: Sequence[CrawlReport] = ()
        try:
            reports = await self._crawl_batch(batch)
        except Exception:
            logger.exception("batch crawl of %d sources failed; they run again at their next interval", len(batch))
        finally:
            by_name = {r.source: r for r in reports}
            for name in batch:
                self.in_flight.discard(name)
                self._reschedule(name, started, by_name.get(name))

    def _reschedule(self, name: str, started: datetime, report: CrawlReport | None) -> None:
        schedule, source = self._schedules.get(name), self._sources.get(name)
        if schedule is None or source is None:
            return  # removed by a reload while it was being crawled
        bounds = source.polling_bounds
        elapsed = schedule.interval or float(bounds.every)
        if report is None or report.error_class:
            interval = float(bounds.every)
            if report is not None:  # a Retry-After delays the next poll, even past max_every
                interval = retry_after_delay(interval, report.hint_seconds)
        else:
            schedule.estimate = observe(schedule.estimate, report.new_articles, elapsed)
            interval = next_interval(bounds, schedule.estimate, last_new_items=report.new_articles,
                                     last_elapsed=elapsed, hint=report.hint_seconds)
        schedule.interval = interval
        schedule.due = max(started + timedelta(seconds=interval), datetime.now(UTC))

    def interval(self, name: str) -> float | None:
        """The interval the source runs at now (None for an unknown source)."""
        schedule = self._schedules.get(name)
        if schedule is None:
            return None
        source = self._sources[name]
        return schedule.interval or float(source.every_seconds)

    def jobs(self) -> list[tuple[str, str, datetime | None]]:
        """(id, name, next time) per source, as the heartbeat publishes jobs for `newswatch status`."""
        return [(crawl_job_id(name), f"crawl {name}", s.due) for name, s in sorted(self._schedules.items())]
