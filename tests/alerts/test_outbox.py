"""Outbox rules: one row per (story, target), watchlists merged only while untried, status counts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.outbox import enqueue_alert, outbox_summary, retry_dead
from alerts.delivery.worker import deliver_due
from alerts.store import open_store, transaction
from tests.alerts.test_delivery import T0, hook, seed_stories


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def enqueue(db, story_id: int, watchlist: str, target: str) -> bool:
    with transaction(db) as conn:
        return enqueue_alert(conn, story_id, watchlist, target, article_id=1, now=T0)


def test_the_same_triple_is_queued_once_and_watchlists_merge(db):
    assert enqueue(db, 1, "maritime-disputes", "slack") is True
    assert enqueue(db, 1, "maritime-disputes", "slack") is False
    assert enqueue(db, 1, "arms-deals", "slack") is False  # merged into the untried row
    assert enqueue(db, 1, "arms-deals", "mail") is True
    rows = db.execute("SELECT target, watchlists FROM outbox ORDER BY id").fetchall()
    assert rows == [("slack", '["arms-deals", "maritime-disputes"]'), ("mail", '["arms-deals"]')]


def test_a_row_already_tried_is_never_changed(db, receiver):
    seed_stories(db, 1, {"maritime-disputes": ["hook"]})
    receiver.script([500])
    deliver_due(db, {"hook": hook(receiver)}, now=T0)  # tried once, will be retried
    assert enqueue(db, 1, "arms-deals", "hook") is True  # a new row, not a change to the tried one
    rows = db.execute("SELECT watchlists, attempts FROM outbox ORDER BY id").fetchall()
    assert rows == [('["maritime-disputes"]', 1), ('["arms-deals"]', 0)]
    deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(hours=1))
    assert outbox_summary(db)["hook"]["delivered"] == 2


def test_summary_counts_per_target(db, receiver):
    seed_stories(db, 3, {"maritime-disputes": ["hook", "later"]})
    receiver.script([404])
    deliver_due(db, {"hook": hook(receiver)}, now=T0)
    summary = outbox_summary(db)
    assert {k: summary["hook"][k] for k in ("pending", "delivered", "dead")} == \
        {"pending": 0, "delivered": 2, "dead": 1}
    assert summary["later"]["pending"] == 3 and summary["later"]["oldest_pending"] is not None
    assert retry_dead(db, "hook") == 1 and outbox_summary(db)["hook"]["pending"] == 1
