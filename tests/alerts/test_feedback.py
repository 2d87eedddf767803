"""alerts.feedback: judgements are stored; the pipeline and the outbox honour mutes and snoozes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import RouteSpec
from alerts.delivery.worker import deliver_due
from alerts.feedback import active_snoozes, blank_terms, judge, judgements_for, mute, snooze, unmute
from alerts.pipeline import process_new_articles
from crawler.store import open_store
from tests.alerts.test_delivery import T0, add_article, hook, keyword_match

BODY = ("Chinese coast guard ships shadowed a Philippine boat near Sabina shoal, officials said. "
        "The incident was the third this month.")
COPY = BODY + " (Reuters)"
TWO_OUTLETS = {"maritime-disputes": [RouteSpec("hook", min_outlets=2)]}
AT_ONCE = {"maritime-disputes": ["hook"]}


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def outbox(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT kind, status FROM outbox ORDER BY id").fetchall()]


def test_judging_stores_one_label_per_story_and_watchlist_with_who_and_when(db):
    add_article(db, "https://a.example/1", "Coast guard near Sabina shoal", BODY)
    process_new_articles(db, keyword_match, AT_ONCE, now=T0)
    judge(db, 1, "maritime-disputes", True, "ana", now=T0)
    judge(db, 1, "maritime-disputes", False, "ben", now=T0 + timedelta(hours=1))
    (label,) = judgements_for(db, "maritime-disputes")
    assert (label.story_id, label.relevant, label.who) == (1, False, "ben")
    assert label.judged_at == "2024-06-01T09:00:00+00:00"
    assert judgements_for(db, "arms-deals") == []


@pytest.mark.parametrize("muted", [False, True])
def test_a_muted_story_raises_no_alert_when_a_new_outlet_joins_it(db, muted):
    add_article(db, "https://a.example/1", "Coast guard shadows boat near Sabina shoal", BODY, source="rappler")
    first = process_new_articles(db, keyword_match, TWO_OUTLETS, now=T0)
    assert (first.stories_new, first.alerts_waiting, first.alerts_enqueued) == (1, 1, 0)
    if muted:
        mute(db, 1, "ana", now=T0)
    add_article(db, "https://b.example/1", "Coast guard shadows boat near Sabina shoal", COPY, source="inquirer")
    second = process_new_articles(db, keyword_match, TWO_OUTLETS, now=T0 + timedelta(minutes=5))
    assert second.stories_joined == 1
    assert second.alerts_enqueued == (0 if muted else 1)
    assert outbox(db) == ([] if muted else [("alert", "pending")])


def test_muting_withdraws_the_queued_alert_and_the_outbox_sends_nothing(db, receiver):
    add_article(db, "https://a.example/1", "Coast guard shadows boat near Sabina shoal", BODY)
    process_new_articles(db, keyword_match, AT_ONCE, now=T0)
    assert mute(db, 1, "ana", now=T0) == 1
    report = deliver_due(db, {"hook": hook(receiver)}, now=T0)
    assert report.attempted == 0 and receiver.received == []
    assert outbox(db) == [("alert", "muted")]


def test_the_outbox_withholds_a_row_queued_for_a_story_muted_behind_the_pipelines_back(db, receiver):
    add_article(db, "https://a.example/1", "Coast guard shadows boat near Sabina shoal", BODY)
    process_new_articles(db, keyword_match, AT_ONCE, now=T0)
    with db.conn:  # a mute written by another process, without withdrawing anything
        db.conn.execute("INSERT INTO mutes (story_id, who, muted_at) VALUES (1, 'ana', '2024-06-01T08:00:00+00:00')")
    deliver_due(db, {"hook": hook(receiver)}, now=T0)
    assert receiver.received == [] and outbox(db) == [("alert", "muted")]


def test_unmuting_lets_later_articles_alert_again(db):
    add_article(db, "https://a.example/1", "Coast guard shadows boat near Sabina shoal", BODY, source="rappler")
    process_new_articles(db, keyword_match, TWO_OUTLETS, now=T0)
    mute(db, 1, "ana", now=T0)
    assert unmute(db, 1)
    add_article(db, "https://b.example/1", "Coast guard shadows boat near Sabina shoal", COPY, source="inquirer")
    assert process_new_articles(db, keyword_match, TWO_OUTLETS, now=T0).alerts_enqueued == 1


def test_a_snoozed_source_raises_no_alert_until_the_snooze_ends(db):
    snooze(db, "source", "rappler", 2, "ana", now=T0)
    add_article(db, "https://a.example/1", "Coast guard shadows boat near Sabina shoal", BODY, source="rappler")
    report = process_new_articles(db, keyword_match, AT_ONCE, now=T0 + timedelta(hours=1))
    assert (report.matched, report.silenced, report.alerts_enqueued) == (1, 1, 0)
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 1  # still shown in the workbench
    later = T0 + timedelta(days=2, minutes=1)
    assert active_snoozes(db, later) == []
    add_article(db, "https://a.example/2", "Coast guard ship rams boat off Thitu Island", "Coast guard ship "
                "rammed a boat off Thitu Island on Monday, the navy said.", source="rappler")
    assert process_new_articles(db, keyword_match, AT_ONCE, now=later).alerts_enqueued == 1


def test_a_snoozed_term_counts_for_nothing(db):
    snooze(db, "term", "Coast Guard", 1, "ana", now=T0)
    add_article(db, "https://a.example/1", "Coast guard ships seen off the coast", "Coast guard ships were seen.")
    add_article(db, "https://a.example/2", "Coast guard near Sabina shoal", BODY)
    report = process_new_articles(db, keyword_match, AT_ONCE, now=T0)
    assert report.matched == 1  # the second still matches on "shoal"
    (terms,) = db.execute("SELECT evidence FROM matches").fetchone()
    assert "coast guard" not in terms and "shoal" in terms


def test_blank_terms_keeps_the_length_and_ignores_case():
    assert blank_terms("The Coast Guard said", ["coast guard"]) == "The             said"


@pytest.mark.parametrize(("kind", "value", "days", "message"), [
    ("person", "x", 1, "snooze kind 'person' is unknown"),
    ("term", "  ", 1, "needs a term"),
    ("source", "rappler", 0, "more than 0 and at most 365"),
])
def test_snooze_refuses_bad_values_naming_them(db, kind, value, days, message):
    with pytest.raises(ValueError, match=message):
        snooze(db, kind, value, days, "ana")
