"""The delivery job: drain the due part of the outbox, each target on its own; queue backfilled stories.

Runs `alerts.deliver_due` (what `tasks.deliver_pending` runs for the CLI) in the delivery threads and
records the outcome and each delivered alert's latency in the Prometheus registry. A round first
prepares (closes due digests, releases the leases of dead processes), then sends each target's rows
in a call of its own; a target still sending from an earlier round (a receiver that hangs until its
send deadline) is skipped, and the other targets' next alerts go out without waiting for it; the
skipped target gets a send of its own as soon as its earlier one ends, so no due alert is left
behind (at stop either: `idle` waits for those too). `backfill` runs `alerts.backfill_targets` at
start and after a reload.

Settings read: `Config.targets`, `.delivery.max_attempts`, `.delivery.retry_base_seconds`,
`.delivery.backfill_seconds`, the watchlists' routes, `.database`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from alerts import DeliveryReport, backfill_targets, deliver_due, delivery_latencies
from scheduler.config import Config
from scheduler.jobs.runtime import Runtime

logger = logging.getLogger(__name__)


def _sum(reports: Sequence[DeliveryReport]) -> DeliveryReport:
    return DeliveryReport(**{f.name: sum(getattr(r, f.name) for r in reports)
                             for f in dataclasses.fields(DeliveryReport)})


class DeliverJob:
    """Delivery rounds: one preparation at a time, then one send task per target not still busy."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = asyncio.Lock()
        self._sending: dict[str, asyncio.Task[DeliveryReport | None]] = {}
        self._again: set[str] = set()  # busy targets a round skipped: sent to again when their send ends

    async def run(self) -> DeliveryReport | None:
        """A round, awaited to its end (except targets still busy from an earlier round). Never raises."""
        started = await self.start()
        if started is None:
            return None
        prepared, tasks = started
        sent = [r for r in await asyncio.gather(*tasks) if r is not None]
        return _sum([prepared, *sent])

    async def kick(self) -> None:
        """Start a round without waiting for its sends (the scheduled job and after a crawl)."""
        await self.start()

    async def start(self) -> tuple[DeliveryReport, list[asyncio.Task[DeliveryReport | None]]] | None:
        """Prepare a round and start a send task per free target; None when preparing failed."""
        rt = self.runtime
        config = rt.config
        async with self._lock:
            try:
                prepared = await rt.in_db(rt.delivery_threads, self._deliver, config, (), True)
            except Exception:
                logger.exception("delivery run failed; undelivered alerts stay in the outbox")
                return None
            tasks = []
            for name in config.targets:
                if name in self._sending:
                    self._again.add(name)  # still sending from an earlier round: sent to when that ends
                    continue
                tasks.append(self._start_send(config, name))
        self._record(prepared)
        return prepared, tasks

    def _start_send(self, config: Config, name: str) -> asyncio.Task[DeliveryReport | None]:
        task = asyncio.create_task(self._send(config, name))
        self._sending[name] = task
        task.add_done_callback(functools.partial(self._ended, name))
        return task

    def _ended(self, name: str, task: asyncio.Task[DeliveryReport | None]) -> None:
        if self._sending.get(name) is task:
            del self._sending[name]
        if name in self._again:
            self._again.discard(name)
            config = self.runtime.config
            if name in config.targets:
                self._start_send(config, name)

    async def idle(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for every send still running, and those they lead to (at stop)."""
        deadline = self.runtime.loop.time() + timeout
        while self._sending and self.runtime.loop.time() < deadline:
            await asyncio.wait(list(self._sending.values()), timeout=deadline - self.runtime.loop.time())

    async def _send(self, config: Config, name: str) -> DeliveryReport | None:
        rt = self.runtime
        try:
            report = await rt.in_db(rt.delivery_threads, self._deliver, config, (name,), False)
        except Exception:
            logger.exception("delivery to target %s failed; its undelivered alerts stay in the outbox", name)
            return None
        self._record(report)
        return report

    def _record(self, report: DeliveryReport) -> None:
        metrics = self.runtime.metrics
        for outcome, count in (("delivered", report.delivered), ("failed", report.failed), ("dead", report.dead)):
            metrics.deliveries.labels(outcome).inc(count)
        metrics.tick()

    def _deliver(self, db: Any, config: Config, only: Collection[str], prepare: bool) -> DeliveryReport:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        report = deliver_due(db, config.targets, max_attempts=config.delivery.max_attempts,
                             backoff_base=config.delivery.retry_base_seconds, only=only, prepare=prepare)
        if report.delivered:
            metrics = self.runtime.metrics
            for target, from_publication, from_fetch in delivery_latencies(db, started):
                if target in only:
                    metrics.publication_to_alert.labels(target).observe(from_publication)
                    metrics.fetch_to_alert.labels(target).observe(from_fetch)
        return report


def backfill(runtime: Runtime, targets: Sequence[str], config: Config) -> None:
    """Queue once the stories matched while `targets` were off (idempotent; blocking, at start and reload)."""
    runtime.with_db(backfill_targets, tuple(targets), config.routes(), config.delivery.backfill_seconds)
