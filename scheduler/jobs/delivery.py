"""The delivery job: drain the due part of the outbox, and queue stories for targets turned on.

Runs `alerts.deliver_due` (what `tasks.deliver_pending` runs for the CLI) in the delivery thread,
one run at a time, and records the outcome and each delivered alert's latency in the Prometheus
registry. `backfill` runs `alerts.backfill_targets` at start and after a reload.

Settings read: `Config.targets`, `.delivery.max_attempts`, `.delivery.retry_base_seconds`,
`.delivery.backfill_seconds`, the watchlists' routes, `.database`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from alerts import DeliveryReport, backfill_targets, deliver_due, delivery_latencies
from scheduler.config import Config
from scheduler.jobs.runtime import Runtime

logger = logging.getLogger(__name__)


class DeliverJob:
    """Drain the outbox in the delivery thread; one run at a time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = asyncio.Lock()

    async def run(self) -> DeliveryReport | None:
        """Send the alerts that are due. Never raises (None when the run failed)."""
        rt = self.runtime
        async with self._lock:
            try:
                report = await rt.in_db(rt.delivery_thread, self._deliver, rt.config)
            except Exception:
                logger.exception("delivery run failed; undelivered alerts stay in the outbox")
                return None
        for outcome, count in (("delivered", report.delivered), ("failed", report.failed), ("dead", report.dead)):
            rt.metrics.deliveries.labels(outcome).inc(count)
        rt.metrics.tick()
        return report

    def _deliver(self, db: Any, config: Config) -> DeliveryReport:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        report = deliver_due(db, config.targets, max_attempts=config.delivery.max_attempts,
                             backoff_base=config.delivery.retry_base_seconds)
        if report.delivered:
            metrics = self.runtime.metrics
            for target, from_publication, from_fetch in delivery_latencies(db, started):
                metrics.publication_to_alert.labels(target).observe(from_publication)
                metrics.fetch_to_alert.labels(target).observe(from_fetch)
        return report


def backfill(runtime: Runtime, targets: Sequence[str], config: Config) -> None:
    """Queue once the stories matched while `targets` were off (idempotent; blocking, at start and reload)."""
    runtime.with_db(backfill_targets, tuple(targets), config.routes(), config.delivery.backfill_seconds)
