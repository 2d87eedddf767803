"""The match job: match every stored article not matched yet and queue its alerts.

Runs `alerts.process_new_articles` (what `newswatch crawl --once` runs through `tasks.match_pending`)
in the match thread with the daemon's compiled matcher; one run at a time, so the alerts cursor is
never advanced twice at once. Counts go to the Prometheus registry only.

Settings read: `Config.watchlists` (through the compiled matcher), `.targets` and the watchlists'
routes (`Config.routes()`), `.database`.
"""

from __future__ import annotations

import asyncio
import logging

from alerts import ProcessReport, process_new_articles
from scheduler.jobs.runtime import Runtime

logger = logging.getLogger(__name__)


class MatchJob:
    """Match new articles in the match thread; one run at a time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = asyncio.Lock()

    async def run(self) -> ProcessReport | None:
        """Match every article not matched yet; enqueue alerts. Never raises (None when it failed)."""
        rt = self.runtime
        async with self._lock:
            matcher, routes = rt.matcher, rt.config.routes()
            try:
                report = await rt.in_db(rt.match_thread, process_new_articles, matcher.match, routes)
            except Exception:
                logger.exception("matching failed; the articles stay queued and are retried")
                return None
        rt.metrics.matched.inc(report.matched)
        rt.metrics.alerts.inc(report.alerts_enqueued)
        if report.articles:
            logger.info("matched %d new articles: %d matched a watchlist, %d alerts queued",
                        report.articles, report.matched, report.alerts_enqueued)
        return report
