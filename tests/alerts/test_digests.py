"""Digests, quiet hours and rate limits against real receivers, with the clock driven by `now`.

Every test checks the promise too: each (story, watchlist, target) reaches the receiver exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import DigestSchedule, QuietHours, RateLimit, RouteSpec, SmtpSettings, TargetSpec
from alerts.delivery.outbox import outbox_summary
from alerts.delivery.worker import deliver_due
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_channels_email import parts
from tests.alerts.test_delivery import T0, add_article, hook, keyword_match, story_text

DAILY_MANILA = DigestSchedule("daily", time(8, 0), "Asia/Manila")  # 00:00 UTC
NEXT_MANILA_8AM = datetime(2024, 6, 2, 0, 0, tzinfo=UTC)
TOKYO_NIGHT = QuietHours(time(22, 0), time(7, 0), "Asia/Tokyo", min_score=6)  # 13:00–22:00 UTC
NIGHT = datetime(2024, 6, 1, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
MORNING = datetime(2024, 6, 1, 22, 0, 30, tzinfo=UTC)  # just after 07:00 in Tokyo


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def mail(sink) -> TargetSpec:
    return TargetSpec(name="mail", kind="email", recipients=("desk@example.org",), sender="nw@alerts.example",
                      smtp=SmtpSettings(host=sink.host, port=sink.port, starttls=False, timeout=5.0))


def add_stories(db, numbers, source: str = "example") -> None:
    for n in numbers:
        title, text = story_text(n)
        add_article(db, f"https://news.example/{source}/{n}", title, text, source=source)


def add_urgent(db, n: int = 99) -> str:
    """A story scoring 8 with keyword_match (four terms, title and body), above TOKYO_NIGHT's min_score."""
    title = f"Urgent {n}: coast guard rams boat at Senkaku shoal in the South China Sea"
    add_article(db, f"https://news.example/urgent/{n}", title,
                f"Report {n}. The coast guard rammed a boat at the Senkaku shoal in the South China Sea.")
    return title


def titles_in(body: str, numbers) -> list[int]:
    return [n for n in numbers if story_text(n)[0] in body]


def test_a_daily_email_digest_lists_every_story_once_at_the_local_time(db, smtp_sink):
    routes = {"maritime-disputes": [RouteSpec("mail", DAILY_MANILA)]}
    add_stories(db, range(3))
    report = process_new_articles(db, keyword_match, routes, now=T0)
    assert (report.alerts_enqueued, report.alerts_held) == (0, 3)
    assert deliver_due(db, {"mail": mail(smtp_sink)}, now=T0).attempted == 0
    assert outbox_summary(db)["mail"]["held"] == 1
    add_stories(db, range(3, 5))
    process_new_articles(db, keyword_match, routes, now=T0 + timedelta(hours=5))
    assert deliver_due(db, {"mail": mail(smtp_sink)}, now=NEXT_MANILA_8AM - timedelta(seconds=1)).attempted == 0
    report = deliver_due(db, {"mail": mail(smtp_sink)}, now=NEXT_MANILA_8AM + timedelta(seconds=10))
    assert (report.digests_due, report.delivered) == (1, 1)
    (message,) = smtp_sink.messages
    assert message["Subject"] == "[newswatch] Daily digest: 5 stories (maritime-disputes)"
    key = db.execute("SELECT idempotency_key FROM outbox WHERE kind = 'digest'").fetchone()[0]
    assert message["Message-ID"] == f"<{key}@alerts.example>"
    body = parts(message)
    assert titles_in(body["text/plain"], range(5)) == [0, 1, 2, 3, 4]
    html = body["text/html"]
    assert all(html.count(f'href="https://news.example/example/{n}"') == 1 for n in range(5))
    assert "Due 2024-06-02 08:00 Asia/Manila" in html and "maritime-disputes</a> (5)" in html
    assert '<ol start="1">' in html
    # A story found after the digest went out waits for the next one.
    add_stories(db, [5])
    process_new_articles(db, keyword_match, routes, now=NEXT_MANILA_8AM + timedelta(minutes=1))
    assert deliver_due(db, {"mail": mail(smtp_sink)}, now=NEXT_MANILA_8AM + timedelta(hours=23)).attempted == 0
    assert deliver_due(db, {"mail": mail(smtp_sink)}, now=NEXT_MANILA_8AM + timedelta(days=1)).delivered == 1
    assert titles_in(parts(smtp_sink.messages[1])["text/plain"], range(6)) == [5]


def test_digest_html_escapes_untrusted_titles(db, smtp_sink):
    add_article(db, "javascript:alert(1)", "Coast guard <script>alert(1)</script> shoal\r\nBcc: x@evil.example",
                "The coast guard <img src=x onerror=alert(1)> met at the shoal.")
    process_new_articles(db, keyword_match, {"maritime-disputes": [RouteSpec("mail", DigestSchedule("hourly"))]},
                         now=T0)
    deliver_due(db, {"mail": mail(smtp_sink)}, now=T0 + timedelta(hours=1))
    (message,) = smtp_sink.messages
    assert message["Bcc"] is None
    html = parts(message)["text/html"]
    assert "<script>" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html


def test_an_hourly_webhook_digest_is_signed_and_retried_with_the_same_bytes(db, receiver):
    routes = {"maritime-disputes": [RouteSpec("hook", DigestSchedule("hourly"))], "arms-deals": ["hook"]}
    add_stories(db, range(4))
    process_new_articles(db, keyword_match, routes, now=T0 + timedelta(minutes=10))
    spec = hook(receiver, secret="digest-secret")
    receiver.script([503])
    assert deliver_due(db, {"hook": spec}, now=T0 + timedelta(hours=1)).failed == 1
    assert deliver_due(db, {"hook": spec}, now=T0 + timedelta(hours=2)).delivered == 1
    first, second = receiver.requests
    assert first.body == second.body and first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert second.headers["x-newswatch-event"] == "story.digest"
    expected = "sha256=" + hmac.new(b"digest-secret", second.body, hashlib.sha256).hexdigest()
    assert second.headers["x-newswatch-signature"] == expected
    payload = json.loads(second.body)
    assert payload["event"] == "story.digest" and payload["digest"]["story_count"] == 4
    assert payload["digest"]["reasons"] == ["digest:hourly"] and payload["digest"]["due_at"] == \
        "2024-06-01T09:00:00+00:00"
    assert [s["title"] for s in payload["stories"]] == [story_text(n)[0] for n in range(4)]
    assert payload["stories"][0]["matches"][0]["watchlist"] == "maritime-disputes"


def test_a_story_already_going_out_at_once_carries_its_digest_watchlist_along(db, receiver):
    routes = {"maritime-disputes": [RouteSpec("hook", DigestSchedule("hourly"))], "arms-deals": ["hook"]}
    add_article(db, "https://news.example/deal", "Frigate sale agreed",
                "A frigate sale was agreed. The coast guard will patrol the shoal.")
    report = process_new_articles(db, keyword_match, routes, now=T0)
    assert report.alerts_enqueued == 1
    deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(hours=2))
    (request,) = receiver.received
    payload = json.loads(request.body)
    assert payload["event"] == "story.alert"
    assert payload["watchlists"] == ["arms-deals", "maritime-disputes"]


def test_quiet_hours_hold_low_scores_and_send_them_as_one_digest_when_they_end(db, receiver):
    spec = TargetSpec(name="hook", kind="webhook", url=receiver.url("/h"), quiet_hours=TOKYO_NIGHT)
    routes = {"maritime-disputes": ["hook"]}
    add_stories(db, range(3))
    urgent = add_urgent(db)
    add_stories(db, range(3, 5))
    process_new_articles(db, keyword_match, routes, now=NIGHT)
    report = deliver_due(db, {"hook": spec}, now=NIGHT)
    assert (report.delivered, report.held) == (1, 5)
    assert json.loads(receiver.received[0].body)["story"]["title"] == urgent  # it broke through
    for half_hours in range(1, 16):  # the delivery job runs all night, until 06:30 Tokyo: nothing goes out
        assert deliver_due(db, {"hook": spec}, now=NIGHT + timedelta(minutes=30 * half_hours)).attempted == 0
    # A story found at 05:00 Tokyo joins the held ones.
    add_stories(db, [5])
    process_new_articles(db, keyword_match, routes, now=datetime(2024, 6, 1, 20, 0, tzinfo=UTC))
    assert deliver_due(db, {"hook": spec}, now=datetime(2024, 6, 1, 20, 0, tzinfo=UTC)).held == 1
    report = deliver_due(db, {"hook": spec}, now=MORNING)
    assert report.delivered == 1
    digest = json.loads(receiver.received[1].body)
    assert digest["event"] == "story.digest" and digest["digest"]["reasons"] == ["quiet_hours"]
    assert digest["digest"]["title"] == "Held during quiet hours: 6 stories"
    assert [s["title"] for s in digest["stories"]] == [story_text(n)[0] for n in range(6)]
    assert len(receiver.received) == 2
    # After the quiet hours, alerts go out at once again.
    add_stories(db, [6])
    process_new_articles(db, keyword_match, routes, now=MORNING)
    assert deliver_due(db, {"hook": spec}, now=MORNING).delivered == 1
    assert json.loads(receiver.received[2].body)["event"] == "story.alert"


def test_digests_due_in_quiet_hours_wait_and_merge_into_one_message(db, receiver):
    spec = TargetSpec(name="hook", kind="webhook", url=receiver.url("/h"), quiet_hours=TOKYO_NIGHT)
    routes = {"maritime-disputes": [RouteSpec("hook", DigestSchedule("hourly"))]}
    clock = NIGHT
    for n in range(6):  # a story every hour of the night, each due in its own hourly digest
        add_stories(db, [n])
        process_new_articles(db, keyword_match, routes, now=clock)
        deliver_due(db, {"hook": spec}, now=clock)
        clock += timedelta(hours=1)
    assert receiver.requests == []
    assert deliver_due(db, {"hook": spec}, now=MORNING).delivered == 1
    (request,) = receiver.received
    payload = json.loads(request.body)
    assert [s["title"] for s in payload["stories"]] == [story_text(n)[0] for n in range(6)]
    assert deliver_due(db, {"hook": spec}, now=MORNING + timedelta(hours=3)).attempted == 0


def test_a_rate_limit_folds_a_burst_into_one_digest_and_drops_nothing(db, receiver):
    spec = TargetSpec(name="hook", kind="webhook", url=receiver.url("/h"), rate_limit=RateLimit(3, 3600))
    add_stories(db, range(10))
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=T0)
    report = deliver_due(db, {"hook": spec}, now=T0)
    assert (report.delivered, report.held) == (3, 7)
    assert deliver_due(db, {"hook": spec}, now=T0 + timedelta(minutes=59)).attempted == 0
    assert deliver_due(db, {"hook": spec}, now=T0 + timedelta(hours=1, seconds=5)).delivered == 1
    bodies = [json.loads(r.body) for r in receiver.received]
    assert [b["event"] for b in bodies] == ["story.alert"] * 3 + ["story.digest"]
    assert bodies[3]["digest"]["reasons"] == ["rate_limit"]
    sent = [b["story"]["title"] for b in bodies[:3]] + [s["title"] for s in bodies[3]["stories"]]
    assert sorted(sent) == sorted(story_text(n)[0] for n in range(10))
    assert Counter(sent).most_common(1)[0][1] == 1
    # The window has moved on: the next alert goes out at once.
    add_stories(db, [11])
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=T0 + timedelta(hours=1, minutes=1))
    assert deliver_due(db, {"hook": spec}, now=T0 + timedelta(hours=1, minutes=1)).delivered == 1
    summary = outbox_summary(db)["hook"]
    assert (summary["delivered"], summary["pending"], summary["held"]) == (5, 0, 0)


def test_an_alert_already_tried_is_never_folded(db, receiver):
    spec = TargetSpec(name="hook", kind="webhook", url=receiver.url("/h"), quiet_hours=TOKYO_NIGHT)
    add_stories(db, [0])
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=NIGHT - timedelta(hours=2))
    receiver.script([500])
    assert deliver_due(db, {"hook": spec}, now=NIGHT - timedelta(hours=2)).failed == 1  # before the quiet hours
    # Its retry falls in the quiet hours: it keeps its key and goes out as it was.
    assert deliver_due(db, {"hook": spec}, now=NIGHT).delivered == 1
    assert [json.loads(r.body)["event"] for r in receiver.received] == ["story.alert"]


def test_routes_to_several_targets_shape_each_on_its_own(db, receiver, smtp_sink):
    targets = {"hook": hook(receiver), "mail": mail(smtp_sink)}
    routes = {"maritime-disputes": ["hook", RouteSpec("mail", DAILY_MANILA)]}
    add_stories(db, range(2))
    process_new_articles(db, keyword_match, routes, now=T0)
    assert deliver_due(db, targets, now=T0).delivered == 2
    assert len(receiver.received) == 2 and smtp_sink.messages == []
    assert deliver_due(db, targets, now=NEXT_MANILA_8AM).delivered == 1
    assert titles_in(parts(smtp_sink.messages[0])["text/plain"], range(2)) == [0, 1]
