"""backfill_targets: what a target missed while off is queued once, within the window, as its routes say."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts import RouteSpec, backfill_targets
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.alerts.test_pipeline import BODY, ROUTES


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    store = open_store(db_path)
    add_article(store, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY)
    process_new_articles(store, keyword_match, {}, now=T0)  # every target off: matched, nothing queued
    return store


def _rows(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT target, watchlists FROM outbox ORDER BY target").fetchall()]


def test_a_target_coming_on_gets_what_it_missed_once(db, caplog):
    caplog.set_level("INFO", logger="alerts.delivery.backfill")
    (report,) = backfill_targets(db, ["hook"], ROUTES, 86400, now=T0 + timedelta(hours=2))
    assert (report.queued, report.messages, report.already) == (2, 1, 0)
    assert _rows(db) == [("hook", '["arms-deals", "maritime-disputes"]')]
    assert "target hook is on: queued 2 story match(es) from the last 1d, in 1 new message(s)" in caplog.text

    (again,) = backfill_targets(db, ["hook"], ROUTES, 86400, now=T0 + timedelta(hours=3))
    assert (again.queued, again.already) == (0, 2)
    assert len(_rows(db)) == 1


def test_outside_the_window_or_switched_off_nothing_is_queued(db, caplog):
    caplog.set_level("INFO", logger="alerts.delivery.backfill")
    (late,) = backfill_targets(db, ["hook"], ROUTES, 86400, now=T0 + timedelta(days=2))
    assert late.queued == 0 and _rows(db) == []
    assert backfill_targets(db, ["hook"], ROUTES, 0, now=T0) == []
    assert "backfill is off (delivery.backfill: 0)" in caplog.text
    assert _rows(db) == []


def test_a_route_waiting_for_more_outlets_still_waits(db):
    routes = {"maritime-disputes": [RouteSpec("hook", min_outlets=2)]}
    (report,) = backfill_targets(db, ["hook"], routes, 86400, now=T0 + timedelta(hours=1))
    assert (report.queued, report.waiting) == (0, 1) and _rows(db) == []
