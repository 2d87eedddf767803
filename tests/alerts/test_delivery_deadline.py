"""A receiver that drips its answer holds neither the delivery run nor another target's alerts.

The drip server answers one byte a second for as long as the client listens (a per-read timeout
never fires); a send to it must end at its target's total deadline as a retryable failure, and a
healthy target's alert must go out meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import SmtpSettings, TargetSpec
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.errors import DeliveryError
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.loopback import DripServer, Request, Response, WebhookReceiver

WAIT = 60.0  # generous: the machine may be loaded


class WatchingReceiver(WebhookReceiver):
    """A healthy webhook receiver that notes, when it is called, whether the dripping target's send
    had ended yet (an attempt recorded in the `deliveries` table)."""

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.drip_attempts_on_arrival: list[int] = []
        self.arrived = threading.Event()

    def respond(self, request: Request) -> Response:
        with contextlib.closing(open_store(self.db_path).conn) as conn:
            count = conn.execute("SELECT count(*) FROM deliveries WHERE target = 'drip'").fetchone()[0]
        self.drip_attempts_on_arrival.append(count)
        self.arrived.set()
        return super().respond(request)


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


@pytest.fixture
def drip() -> Iterator[DripServer]:
    with DripServer() as server:
        yield server


def _row(db_path: Path, target: str) -> tuple[str, int, str | None]:
    with contextlib.closing(open_store(db_path).conn) as conn:
        row = conn.execute("SELECT status, attempts, last_error FROM outbox WHERE target = ?", [target]).fetchone()
    return row[0], row[1], row[2]


def test_a_dripping_webhook_holds_neither_the_run_nor_the_other_target(db, db_path, drip):
    # The dripping target's alert is older, so a one-by-one worker would reach it first.
    add_article(db, "https://news.example/one", "Coast guard standoff at the shoal", "Coast guard ships met.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["drip"]}, now=T0)
    add_article(db, "https://news.example/two", "Frigate sale agreed", "A frigate sale was agreed today.")
    process_new_articles(db, keyword_match, {"arms-deals": ["healthy"]}, now=T0)
    with WatchingReceiver(db_path) as healthy:
        targets = {
            "drip": TargetSpec(name="drip", kind="webhook", url=f"http://127.0.0.1:{drip.port}/hook", timeout=3.0),
            "healthy": TargetSpec(name="healthy", kind="webhook", url=healthy.url("/hook"), timeout=10.0),
        }
        run = threading.Thread(target=deliver_due, args=(db, targets), kwargs={"now": T0}, daemon=True)
        run.start()
        assert healthy.arrived.wait(WAIT), "the healthy target's alert never arrived"
        assert healthy.drip_attempts_on_arrival == [0]  # the dripping send had not ended
        assert drip.connected.wait(WAIT)
        run.join(WAIT)
        assert not run.is_alive(), "the delivery run did not end after the dripping send's deadline"
    assert _row(db_path, "healthy")[0] == "delivered"
    status, attempts, error = _row(db_path, "drip")
    assert (status, attempts) == ("pending", 1)  # to be retried, not dead
    assert error is not None and "no answer within 3 s" in error


def test_a_dripping_smtp_server_ends_in_a_retryable_failure(drip):
    drip.prefix = b"220 "
    target = TargetSpec(name="mail", kind="email", smtp=SmtpSettings(host="127.0.0.1", port=drip.port,
                        starttls=False, timeout=2.0), sender="newswatch@alerts.example",
                        recipients=("analyst@example.org",))
    with pytest.raises(DeliveryError) as failure:
        send_test_alert(target)
    assert failure.value.retryable
    assert "did not complete the exchange within 2 s" in str(failure.value)
