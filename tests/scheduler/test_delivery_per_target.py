"""The daemon's delivery rounds serve each target on its own: a receiver that hangs until its send
deadline does not hold the other targets' next alerts (scheduler.jobs.delivery).

A real dripping webhook (tests.loopback.DripServer) beside a healthy one; the healthy receiver notes,
when each alert arrives, whether the dripping send has ended yet (an attempt in `deliveries`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

from crawler import insert_article, open_store
from scheduler.config import load_config
from scheduler.jobs import DeliverJob, MatchJob, Runtime, matcher_for
from tests.alerts.test_delivery_deadline import WatchingReceiver
from tests.loopback import DripServer, Request, Response, WebhookReceiver
from tests.waiting import TIMEOUT

CONFIG = """\
database: nw.db
targets:
  - {{name: drip, kind: webhook, url: "{drip}", timeout: 600}}
  - {{name: healthy, kind: webhook, url: "{healthy}"}}
watchlists:
  - name: ramen
    targets: [drip, healthy]
    rules:
      - {{name: noodles, any: [ramen]}}
"""


STORIES = {
    1: ("Ramen festival draws record crowds", "Forty ramen shops served miso and shoyu broths in the park."),
    2: ("City council debates ramen shop licences", "Councillors argued over late-night ramen stalls downtown."),
}


def _add(path: Path, n: int) -> None:
    title, text = STORIES[n]
    with contextlib.closing(open_store(path)) as db:
        insert_article(db, {"url": f"https://example.org/{n}", "source": "post", "title": title, "text": text})


def test_a_hanging_target_does_not_hold_the_next_alert_of_another(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    with DripServer() as drip, WatchingReceiver(tmp_path / "nw.db") as healthy:
        config_file.write_text(CONFIG.format(drip=drip.url("/hook"), healthy=healthy.url("/hook")), encoding="utf-8")
        config = load_config(config_file)

        async def scenario() -> None:
            rt = Runtime(config, matcher_for(config), None, asyncio.get_running_loop())
            match, deliver = MatchJob(rt), DeliverJob(rt)
            try:
                _add(config.database, 1)
                await match.run()
                await deliver.kick()  # the scheduled round: the drip target's send hangs
                await asyncio.to_thread(healthy.arrived.wait, TIMEOUT)
                await asyncio.to_thread(drip.connected.wait, TIMEOUT)
                _add(config.database, 2)
                await match.run()
                report = await asyncio.wait_for(deliver.run(), TIMEOUT)  # the next round skips the busy target
                assert report is not None and report.delivered == 1
            finally:
                drip.stop.set()  # ends the hanging send
                await deliver.idle(TIMEOUT)
                await asyncio.to_thread(rt.join_threads)

        asyncio.run(scenario())
    assert len(healthy.received) == 2, "the healthy target got both alerts"
    assert healthy.drip_attempts_on_arrival == [0, 0], "...both while the dripping send was still hanging"
    assert drip.connections == 1, "the busy target was not sent to twice at once"


class GatedReceiver(WebhookReceiver):
    """A webhook that holds its first request until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.gate = threading.Event()

    def respond(self, request: Request) -> Response:
        if not self.holding.is_set():
            self.holding.set()
            self.gate.wait(TIMEOUT)
        return super().respond(request)


def test_a_target_skipped_while_busy_gets_its_alerts_once_its_send_ends(tmp_path: Path) -> None:
    # What a stop relies on: the round at stop may find the target busy, and its alerts must still go.
    config_file = tmp_path / "config.yaml"
    with GatedReceiver() as slow:
        config_file.write_text(CONFIG.replace("  - {{name: drip", "  # {{name: drip").replace("[drip, healthy]",
                               "[healthy]").format(drip="", healthy=slow.url("/hook")), encoding="utf-8")
        config = load_config(config_file)

        async def scenario() -> None:
            rt = Runtime(config, matcher_for(config), None, asyncio.get_running_loop())
            match, deliver = MatchJob(rt), DeliverJob(rt)
            try:
                _add(config.database, 1)
                await match.run()
                await deliver.kick()
                await asyncio.to_thread(slow.holding.wait, TIMEOUT)
                _add(config.database, 2)
                await match.run()
                report = await deliver.run()  # the target is busy: skipped by this round
                assert report is not None and report.attempted == 0
                slow.gate.set()
                await deliver.idle(TIMEOUT)
            finally:
                slow.gate.set()
                await asyncio.to_thread(rt.join_threads)

        asyncio.run(scenario())
    assert len(slow.received) == 2, "the alert queued while the target was busy went out after its send ended"
