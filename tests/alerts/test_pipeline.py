"""process_new_articles: matches, stories and outbox rows written once, atomically, per article."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.worker import deliver_due
from alerts.pipeline import process_new_articles
from alerts.store import get_cursor, list_stories, open_store
from tests.alerts.test_delivery import T0, add_article, hook, keyword_match

ROUTES = {"maritime-disputes": ["slack", "hook"], "arms-deals": ["hook"]}
BODY = ("Japan and Vietnam signed a deal enabling exports of Japanese-made defence equipment. "
        "Both navies patrol the South China Sea, where China's coast guard is increasingly assertive. "
        "The accord was signed in Hanoi during the minister's first trip overseas.")


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("matches", "stories", "story_articles", "outbox", "story_alerts")}


def test_one_row_per_story_and_target_naming_every_watchlist(db):
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY)
    add_article(db, "https://a.example/2", "Cat show draws record crowd", "Cats were admired.")
    report = process_new_articles(db, keyword_match, ROUTES, now=T0)
    assert (report.articles, report.matched, report.stories_new, report.alerts_enqueued) == (2, 1, 1, 2)
    rows = {r["target"]: r["watchlists"] for r in db.query("SELECT target, watchlists FROM outbox")}
    assert rows == {"slack": '["maritime-disputes"]', "hook": '["arms-deals", "maritime-disputes"]'}
    assert counts(db)["matches"] == 2 and counts(db)["story_alerts"] == 3


def test_processing_twice_adds_nothing(db):
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY)
    process_new_articles(db, keyword_match, ROUTES, now=T0)
    before = counts(db)
    again = process_new_articles(db, keyword_match, ROUTES, now=T0 + timedelta(minutes=5))
    assert again.articles == 0 and counts(db) == before
    # Even with the cursor rewound (e.g. a restored backup), no alert is queued twice.
    db.execute("UPDATE alerts_state SET value = '0'")
    db.conn.commit()
    replay = process_new_articles(db, keyword_match, ROUTES, now=T0 + timedelta(minutes=10))
    assert replay.articles == 1 and replay.alerts_enqueued == 0
    assert counts(db)["outbox"] == before["outbox"] and counts(db)["matches"] == before["matches"]


def test_a_syndicated_copy_joins_the_story_and_alerts_nothing_new(db, receiver):
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY, source="scmp")
    process_new_articles(db, keyword_match, ROUTES, now=T0)
    deliver_due(db, {"hook": hook(receiver), "slack": hook(receiver, "slack")}, now=T0)
    assert len(receiver.received) == 2
    add_article(db, "https://b.example/copy", "Vietnam and Japan ink defence equipment accord",
                BODY + " (Reuters)", source="japantoday")
    report = process_new_articles(db, keyword_match, ROUTES, now=T0 + timedelta(minutes=30))
    assert (report.stories_joined, report.alerts_enqueued) == (1, 0)
    assert deliver_due(db, {"hook": hook(receiver), "slack": hook(receiver, "slack")},
                       now=T0 + timedelta(minutes=30)).attempted == 0
    (story,) = list_stories(db)
    assert story.article_count == 2 and story.outlets == ("scmp", "japantoday")


def test_a_watchlist_first_matched_by_a_later_copy_alerts_once_more(db, receiver):
    maritime_only = BODY.replace("defence equipment", "goods")
    add_article(db, "https://a.example/1", "Japan, Vietnam sign deal", maritime_only)
    process_new_articles(db, keyword_match, ROUTES, now=T0)
    deliver_due(db, {"hook": hook(receiver), "slack": hook(receiver, "slack")}, now=T0)
    add_article(db, "https://b.example/2", "Japan, Vietnam sign deal",
                maritime_only + " It covers defence equipment.")
    report = process_new_articles(db, keyword_match, ROUTES, now=T0)
    assert report.stories_joined == 1 and report.alerts_enqueued == 1  # arms-deals → hook, new
    row = db.execute("SELECT watchlists FROM outbox WHERE status = 'pending'").fetchone()
    assert row[0] == '["arms-deals"]'


class ExplodingRoutes(Mapping[str, Sequence[str]]):
    """Routes that fail while the second watchlist of an article is being routed (mid-transaction)."""

    def __init__(self) -> None:
        self.armed = True

    def __getitem__(self, key: str) -> Sequence[str]:
        if key == "arms-deals" and self.armed:
            raise RuntimeError("boom")
        return ROUTES[key]

    def __iter__(self) -> Iterator[str]:
        return iter(ROUTES)

    def __len__(self) -> int:
        return len(ROUTES)


def test_a_failure_mid_article_leaves_nothing_half_written(db):
    add_article(db, "https://a.example/0", "Coast guard shadows boats", "The coast guard was there.")
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY)
    routes = ExplodingRoutes()
    with pytest.raises(RuntimeError):
        process_new_articles(db, keyword_match, routes, now=T0)
    assert get_cursor(db) == 1  # the first article is done, the second not started
    assert counts(db) == {"matches": 1, "stories": 1, "story_articles": 1, "outbox": 2, "story_alerts": 2}
    routes.armed = False
    report = process_new_articles(db, keyword_match, routes, now=T0)
    assert report.articles == 1 and get_cursor(db) == 2
    assert counts(db) == {"matches": 3, "stories": 2, "story_articles": 2, "outbox": 4, "story_alerts": 5}


def test_sigkill_inside_the_transaction_loses_and_repeats_nothing(db, db_path):
    add_article(db, "https://a.example/1", "Japan, Vietnam sign defence equipment deal", BODY)
    db.conn.close()
    script = textwrap.dedent(f"""
        import os, signal
        from alerts.pipeline import process_new_articles
        from alerts.store import open_store
        from tests.alerts.test_delivery import T0, keyword_match

        class KillingRoutes(dict):
            def get(self, key, default=None):
                if key == "arms-deals":  # story, matches and the first outbox rows are written by now
                    os.kill(os.getpid(), signal.SIGKILL)
                return super().get(key, default)

        process_new_articles(open_store({str(db_path)!r}), keyword_match, KillingRoutes({ROUTES!r}), now=T0)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.returncode == -9
    db = open_store(db_path)
    assert get_cursor(db) == 0
    assert set(counts(db).values()) == {0}  # nothing of the killed transaction survived
    report = process_new_articles(db, keyword_match, ROUTES, now=T0)
    assert (report.articles, report.alerts_enqueued) == (1, 2)
    assert counts(db) == {"matches": 2, "stories": 1, "story_articles": 1, "outbox": 2, "story_alerts": 3}
