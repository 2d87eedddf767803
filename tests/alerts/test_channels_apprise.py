"""Apprise channel, through Apprise's generic `json://` service to a loopback receiver."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

pytest.importorskip("apprise")

from alerts.delivery.models import TargetSpec
from alerts.delivery.outbox import outbox_summary
from alerts.delivery.worker import deliver_due
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match


@pytest.fixture
def db(db_path: Path):
    return open_store(db_path)


def test_apprise_json_target_gets_the_alert_and_logs_hide_the_url(db, receiver, caplog):
    add_article(db, "https://news.example/a", "Coast guard standoff at the shoal", "The coast guard said so.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["ntfy"]}, now=T0)
    url = receiver.url("/apprise/S3CRETTOKEN").replace("http://", "json://")
    target = TargetSpec(name="ntfy", kind="apprise", url=url, timeout=5.0)
    with caplog.at_level(logging.DEBUG):
        report = deliver_due(db, {"ntfy": target}, now=T0)
    assert report.delivered == 1
    body = json.loads(receiver.received[0].body)
    assert body["title"] == "Coast guard standoff at the shoal"
    assert "Watchlists: maritime-disputes" in body["message"]
    assert "S3CRETTOKEN" not in caplog.text


def test_apprise_failure_is_retried(db, receiver):
    add_article(db, "https://news.example/a", "Coast guard standoff at the shoal", "The coast guard said so.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["ntfy"]}, now=T0)
    receiver.script([500])
    target = TargetSpec(name="ntfy", kind="apprise", url=receiver.url("/x").replace("http://", "json://"))
    assert deliver_due(db, {"ntfy": target}, now=T0).failed == 1
    assert outbox_summary(db)["ntfy"]["pending"] == 1


def test_apprise_gets_no_markup_mentions_or_bidi_characters(db, receiver):
    spoof = "\u202e\u2066\u200b"
    title = f"Coast guard **standoff** {spoof}at the shoal <b>now</b>"
    add_article(db, "https://news.example/a?x=1&y=2", title,
                "The coast guard [said](https://evil.example) @everyone should look at the shoal.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["ntfy"]}, now=T0)
    url = receiver.url("/apprise/S3CRETTOKEN").replace("http://", "json://")
    target = TargetSpec(name="ntfy", kind="apprise", url=url, timeout=5.0)
    assert deliver_due(db, {"ntfy": target}, now=T0).delivered == 1
    body = json.loads(receiver.received[0].body)
    for text in (body["title"], body["message"]):
        assert not set(text) & set(spoof + "*<>[]`"), text
        assert "@everyone" not in text
    assert "Coast guard" in body["title"] and "standoff" in body["title"] and "at the shoal" in body["title"]
    assert "https://news.example/a?x=1&y=2" in body["message"].split("\n")  # the link line stays a link
