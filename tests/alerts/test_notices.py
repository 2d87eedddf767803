"""Operations notices: queued once per key, delivered with retries on every channel, never held."""

from __future__ import annotations

import json
from datetime import time, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import QuietHours, RateLimit, TargetSpec
from alerts.delivery.outbox import enqueue_notice, outbox_summary
from alerts.delivery.worker import deliver_due
from alerts.store import open_store
from tests.alerts.test_channels_email import parts
from tests.alerts.test_channels_slack import all_text
from tests.alerts.test_delivery import T0, hook
from tests.alerts.test_digests import mail

KEY = "source-failing:kyodo:2024-06-01T06:00:00+00:00"
TEXT = "Source kyodo has failed for 2 h.\nLast error: HTTP 503 <!channel> <script>x</script>\r\nBcc: a@b.example"


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def test_a_notice_is_queued_once_per_key_and_target(db):
    assert enqueue_notice(db, ["hook", "mail"], key=KEY, subject="kyodo failing", text=TEXT, now=T0) == 2
    assert enqueue_notice(db, ["hook", "mail"], key=KEY, subject="kyodo failing", text=TEXT, now=T0) == 0
    assert enqueue_notice(db, ["hook", "slack", "slack"], key=KEY, subject="kyodo failing", text=TEXT, now=T0) == 1
    assert enqueue_notice(db, ["hook"], key=KEY + "-later", subject="again", text="", now=T0) == 1
    with pytest.raises(ValueError):
        enqueue_notice(db, ["hook"], key="", subject="x", text="y")


def test_a_notice_reaches_every_channel_escaped(db, receiver, smtp_sink):
    slack = TargetSpec(name="slack", kind="slack", url=receiver.url("/services/T/B/x"))
    enqueue_notice(db, ["hook", "mail", "slack"], key=KEY, subject="Source kyodo failing\r\nX-Evil: 1", text=TEXT,
                   now=T0)
    report = deliver_due(db, {"hook": hook(receiver), "mail": mail(smtp_sink), "slack": slack}, now=T0)
    assert report.delivered == 3
    by_path = {r.path: r for r in receiver.received}
    webhook = by_path["/hooks/T0KEN-secret-path"]
    assert webhook.headers["x-newswatch-event"] == "notice"
    payload = json.loads(webhook.body)
    assert payload["event"] == "notice" and payload["notice"]["key"] == KEY
    assert payload["notice"]["text"].startswith("Source kyodo has failed for 2 h.\nLast error: HTTP 503")
    slack_text = all_text(json.loads(by_path["/services/T/B/x"].body))
    assert "<!channel>" not in slack_text and "&lt;!channel&gt;" in slack_text
    (message,) = smtp_sink.messages
    assert message["X-Evil"] is None and message["Bcc"] is None
    assert message["Subject"].startswith("[newswatch] Source kyodo failing")
    body = parts(message)
    assert "Last error: HTTP 503" in body["text/plain"]
    assert "<script>" not in body["text/html"] and "&lt;script&gt;" in body["text/html"]


def test_a_notice_is_retried_with_the_same_key_and_never_held(db, receiver):
    quiet_all_day = QuietHours(time(0, 0), time(23, 59))
    spec = TargetSpec(name="hook", kind="webhook", url=receiver.url("/h"), quiet_hours=quiet_all_day,
                      rate_limit=RateLimit(1, 3600))
    enqueue_notice(db, ["hook"], key="config-rejected:1", subject="config rejected", text="bad", now=T0)
    enqueue_notice(db, ["hook"], key="config-rejected:2", subject="config rejected", text="bad", now=T0)
    receiver.script([500])
    assert deliver_due(db, {"hook": spec}, now=T0).failed == 1
    report = deliver_due(db, {"hook": spec}, now=T0 + timedelta(minutes=5))
    assert (report.delivered, report.held) == (2, 0)
    first, second, third = receiver.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] != third.headers["idempotency-key"]
    assert outbox_summary(db)["hook"]["delivered"] == 2
