"""Retention of the alerts tables on a real SQLite file: old send attempts, sent outbox rows and quiet
stories' signatures go, recent ones stay, and a story whose outbox row is gone still never alerts twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts import prune_alerts
from alerts.delivery.worker import deliver_due
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, hook, keyword_match
from tests.alerts.test_pipeline import BODY, ROUTES
from tests.loopback import WebhookReceiver


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def _ids(db: sqlite_utils.Database, sql: str) -> list[int]:
    return [row[0] for row in db.execute(sql).fetchall()]


def test_old_sent_rows_go_recent_stay_and_the_old_story_does_not_alert_again(db, receiver: WebhookReceiver):
    targets = {"hook": hook(receiver), "slack": hook(receiver, "slack")}
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY, source="scmp")
    process_new_articles(db, keyword_match, ROUTES, now=T0)
    deliver_due(db, targets, now=T0)
    later = T0 + timedelta(days=2)
    add_article(db, "https://c.example/shoal", "Coast guard water cannon at Scarborough Shoal",
                "Philippine boats were hit near the shoal by the coast guard of China.", source="rappler",
                published="2024-06-03T07:00:00+00:00")
    process_new_articles(db, keyword_match, ROUTES, now=later)
    deliver_due(db, targets, now=later)
    assert len(receiver.received) == 4
    old_rows = _ids(db, "SELECT id FROM outbox WHERE story_id = 1")
    assert len(old_rows) == 2 and len(_ids(db, "SELECT id FROM deliveries")) == 4

    report = prune_alerts(db, deliveries_days=1, sent_days=1, signature_days=1, now=later)

    assert (report.deliveries, report.outbox) == (2, 2)
    assert _ids(db, "SELECT DISTINCT story_id FROM outbox") == [2], "recent sent rows are kept"
    assert len(_ids(db, "SELECT id FROM deliveries WHERE started_at >= '2024-06-03'")) == 2
    assert not set(_ids(db, "SELECT outbox_id FROM deliveries")) & set(old_rows)
    assert report.signatures == 0, "a story still taking articles (3 days) keeps its signatures"

    # The old story's outbox rows are gone; a new outlet joining it must still not alert again.
    add_article(db, "https://b.example/copy", "Vietnam and Japan ink defence equipment accord", BODY + " (Reuters)",
                source="japantoday")
    joined = process_new_articles(db, keyword_match, ROUTES, now=later + timedelta(hours=1))
    assert (joined.stories_joined, joined.alerts_enqueued) == (1, 0)
    assert deliver_due(db, targets, now=later + timedelta(hours=1)).attempted == 0
    assert len(receiver.received) == 4


def test_signatures_of_quiet_stories_go_and_the_article_story_link_stays(db):
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY)
    process_new_articles(db, keyword_match, {}, now=T0)
    fresh = T0 + timedelta(days=9)
    add_article(db, "https://c.example/shoal", "Coast guard water cannon at Scarborough Shoal",
                "Philippine boats were hit near the shoal by the coast guard of China.",
                published="2024-06-10T07:00:00+00:00")
    process_new_articles(db, keyword_match, {}, now=fresh)

    report = prune_alerts(db, deliveries_days=30, sent_days=30, signature_days=5, now=fresh)

    assert report.signatures == 1
    rows = db.execute("SELECT story_id, signature IS NULL FROM story_articles ORDER BY story_id").fetchall()
    assert rows == [(1, 1), (2, 0)]
