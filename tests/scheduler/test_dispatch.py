"""The crawl dispatcher: due sources crawled together, one source never in two crawls, intervals that
follow each source's publishing between its bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from crawler import CrawlReport, SourceSpec
from scheduler.jobs.dispatch import Dispatcher


def _report(name: str, new: int, error: str | None = None) -> CrawlReport:
    return CrawlReport(source=name, new_articles=new, fetched=new, failed=0, status="failed" if error else "ok",
                       error_class=error, error=error, duration=0.01)


def _sources(count: int, **bounds: int) -> list[SourceSpec]:
    return [SourceSpec(name=f"s{i}", kind="feed", url=f"http://127.0.0.1:9/{i}", every_seconds=60, **bounds)
            for i in range(count)]


def test_due_sources_share_one_crawl_and_none_runs_twice() -> None:
    batches: list[list[str]] = []
    release, started = asyncio.Event(), asyncio.Event()

    async def crawl(names: Sequence[str]) -> list[CrawlReport]:
        batches.append(list(names))
        started.set()
        await release.wait()
        return [_report(name, 0) for name in names]

    async def scenario() -> None:
        dispatcher = Dispatcher(crawl)
        dispatcher.set_sources(_sources(50))  # all due now
        await dispatcher.tick()
        await asyncio.wait_for(started.wait(), 60)  # the first crawl has begun
        await dispatcher.tick()  # it is still running: nothing is started twice
        assert len(dispatcher.tasks) == 1
        assert len(batches) == 1 and sorted(batches[0]) == sorted(f"s{i}" for i in range(50))
        release.set()
        await asyncio.gather(*dispatcher.tasks)
        assert dispatcher.in_flight == set()
        assert dispatcher.due_now(datetime.now(UTC)) == []  # next turn is a minute away

    asyncio.run(scenario())


def test_a_burst_then_silence_moves_the_interval_within_its_bounds() -> None:
    (source,) = _sources(1, min_every_seconds=10, max_every_seconds=3600)
    news = {"new": 20}
    intervals: list[float] = []

    async def crawl(names: Sequence[str]) -> list[CrawlReport]:
        return [_report(name, news["new"]) for name in names]

    async def scenario() -> None:
        dispatcher = Dispatcher(crawl)
        dispatcher.set_sources([source])
        step, silent = 0, 0.0
        while silent < 3 * 86400:  # ten busy polls, then three days of nothing
            step += 1
            if step > 10:
                news["new"] = 0
                silent += intervals[-1]
            schedule = dispatcher._schedules["s0"]
            schedule.due = datetime.now(UTC) - timedelta(seconds=1)  # time passes: it is due
            await dispatcher.tick()
            await asyncio.gather(*dispatcher.tasks)
            interval = dispatcher.interval("s0")
            assert interval is not None
            intervals.append(interval)
            # The simulated clock: the estimate decays with the interval that passed.
            schedule.interval = interval

    asyncio.run(scenario())
    assert all(10 <= value <= 3600 for value in intervals)
    assert min(intervals[:10]) < 60  # busy: polled more often than `every`
    assert intervals[-1] > 60 and intervals[-1] == max(intervals)  # silent: backed off towards the ceiling


def test_a_failed_crawl_keeps_every_and_disabled_sources_wait() -> None:
    (source,) = _sources(1, min_every_seconds=10, max_every_seconds=3600)

    async def crawl(names: Sequence[str]) -> list[CrawlReport]:
        return [_report(name, 0, error="timeout") for name in names]

    async def scenario() -> None:
        dispatcher = Dispatcher(crawl)
        dispatcher.set_sources([source])
        await dispatcher.tick()
        await asyncio.gather(*dispatcher.tasks)
        assert dispatcher.interval("s0") == 60
        dispatcher.set_disabled({"s0"})
        dispatcher._schedules["s0"].due = datetime.now(UTC)
        assert dispatcher.due_now(datetime.now(UTC)) == []

    asyncio.run(scenario())
