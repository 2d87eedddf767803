"""Delivery worker: retries with backoff, Retry-After, outages, dead-letter, missing targets, secrets.

Also holds the small helpers the other alerts tests import (a keyword matcher, article seeding).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import TargetSpec
from alerts.delivery.outbox import claim, outbox_summary, pending_entries, retry_dead
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.errors import DeliveryError
from alerts.match.models import Document, Evidence, WatchlistMatch
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from crawler.store import insert_article
from tests.loopback import WebhookReceiver

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)

WATCHLISTS = {
    "maritime-disputes": ("south china sea", "coast guard", "shoal", "senkaku"),
    "arms-deals": ("defence export", "defense equipment", "defence equipment", "arms sale", "frigate"),
}


def keyword_match(doc: Document) -> list[WatchlistMatch]:
    """A tiny real matcher: a watchlist matches when any of its phrases occurs (title or body)."""
    results = []
    for name, terms in WATCHLISTS.items():
        evidence = []
        for field, text in (("title", doc.title), ("lead", doc.lead), ("body", doc.body)):
            for term in terms:
                pos = text.lower().find(term)
                if pos >= 0:
                    start = text.rfind(".", 0, pos) + 1
                    end = text.find(".", pos)
                    sentence = text[start: end + 1 if end >= 0 else len(text)].strip()
                    evidence.append(Evidence("any", term, None, field, sentence, 1.0))  # type: ignore[arg-type]
        results.append(WatchlistMatch(name, bool(evidence), float(len(evidence)), 1.0,
                                      ("any",) if evidence else (), tuple(evidence)))
    return results


def add_article(db: sqlite_utils.Database, url: str, title: str, text: str, *, source: str = "example",
                published: str | None = "2024-06-01T07:00:00+00:00", summary: str = "") -> int:
    article_id = insert_article(db, {"url": url, "source": source, "title": title, "text": text,
                                     "summary": summary, "published": published})
    assert article_id is not None
    return article_id


def story_text(n: int) -> tuple[str, str]:
    """A distinct maritime story number `n` (different words, so each is its own story)."""
    places = ["Scarborough", "Second Thomas", "Whitsun", "Sabina", "Iroquois", "Ayungin", "Pag-asa",
              "Mischief", "Subi", "Fiery Cross", "Johnson", "Gaven"]
    place = places[n % len(places)]
    title = f"Story {n}: coast guard vessels shadow boats near {place} shoal"
    text = (f"Report {n} of {n * 7} incidents. Chinese coast guard ships shadowed boats near {place} shoal "
            f"on day {n}, officials numbered {n * 13} said. Item {n} alpha {n} beta {n} gamma.")
    return title, text


def seed_stories(db: sqlite_utils.Database, count: int, routes: dict[str, Sequence[str]],
                 now: datetime = T0) -> None:
    for n in range(count):
        title, text = story_text(n)
        add_article(db, f"https://news.example/{n}", title, text)
    report = process_new_articles(db, keyword_match, routes, now=now)
    assert report.stories_new == count


def hook(receiver: WebhookReceiver, name: str = "hook", secret: str | None = None) -> TargetSpec:
    return TargetSpec(name=name, kind="webhook", url=receiver.url("/hooks/T0KEN-secret-path"),
                      secret=secret, timeout=5.0)


def payload_titles(receiver: WebhookReceiver) -> list[str]:
    return [json.loads(r.body)["story"]["title"] for r in receiver.received]


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def test_500_then_200_is_delivered_once_later(db, receiver):
    seed_stories(db, 1, {"maritime-disputes": ["hook"]})
    receiver.script([500])
    first = deliver_due(db, {"hook": hook(receiver)}, now=T0)
    assert (first.attempted, first.delivered, first.failed) == (1, 0, 1)
    assert receiver.received == []
    # Not due again straight away: the backoff is at least 48 s.
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(seconds=30)).attempted == 0
    later = deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(seconds=90))
    assert later.delivered == 1
    assert len(receiver.received) == 1
    # Nothing more to send.
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(hours=5)).attempted == 0
    assert len(receiver.requests) == 2
    # Both attempts carried the same idempotency key.
    keys = {r.headers["idempotency-key"] for r in receiver.requests}
    assert len(keys) == 1


def test_429_retry_after_is_honoured(db, receiver):
    seed_stories(db, 1, {"maritime-disputes": ["hook"]})
    receiver.retry_after = "600"
    receiver.script([429])
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0).failed == 1
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(seconds=590)).attempted == 0
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(seconds=601)).delivered == 1
    assert len(receiver.received) == 1


def test_an_hour_of_outage_then_everything_in_order_once(db, receiver):
    seed_stories(db, 6, {"maritime-disputes": ["hook"]})
    receiver.retry_after = "120"
    receiver.script([500, 429, 503, 500, 429, 502, 500])  # the receiver is down for a while
    clock = T0
    while clock < T0 + timedelta(hours=1):  # the daemon's delivery job, every minute, for an hour
        deliver_due(db, {"hook": hook(receiver)}, now=clock)
        clock += timedelta(minutes=1)
    assert len(receiver.received) < 6  # the outage held them back
    while clock < T0 + timedelta(hours=4):
        deliver_due(db, {"hook": hook(receiver)}, now=clock)
        clock += timedelta(minutes=1)
    titles = payload_titles(receiver)
    assert titles == [story_text(n)[0] for n in range(6)]
    summary = outbox_summary(db)["hook"]
    assert (summary["delivered"], summary["pending"], summary["dead"]) == (6, 0, 0)


def test_dead_letter_after_max_attempts_and_retry_dead(db, receiver):
    seed_stories(db, 2, {"maritime-disputes": ["hook"]})
    receiver.script([500] * 3)
    clock = T0
    for _ in range(3):
        deliver_due(db, {"hook": hook(receiver)}, now=clock, max_attempts=3)
        clock += timedelta(hours=1)
    summary = outbox_summary(db)["hook"]
    assert summary["dead"] == 1
    assert summary["last_error"].startswith("hook: HTTP 500")
    # The second alert was not held back by the dead one.
    assert summary["delivered"] == 1
    assert retry_dead(db, "other-target") == 0
    assert retry_dead(db) == 1
    soon = datetime.now(UTC) + timedelta(seconds=1)
    assert deliver_due(db, {"hook": hook(receiver)}, now=soon).delivered == 1
    assert outbox_summary(db)["hook"]["delivered"] == 2
    assert len(receiver.received) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_go_to_dead_letter_at_once(db, receiver, status):
    seed_stories(db, 2, {"maritime-disputes": ["hook"]})
    receiver.script([status])
    report = deliver_due(db, {"hook": hook(receiver)}, now=T0)
    assert (report.dead, report.delivered) == (1, 1)


def test_alerts_for_a_removed_target_stay_pending(db, receiver, caplog):
    seed_stories(db, 1, {"maritime-disputes": ["hook", "gone"]})
    with caplog.at_level(logging.WARNING):
        report = deliver_due(db, {"hook": hook(receiver)}, now=T0)
    assert report.delivered == 1
    assert "target gone, which is not configured" in caplog.text
    assert outbox_summary(db)["gone"]["pending"] == 1
    # Configured again: it goes out.
    assert deliver_due(db, {"gone": hook(receiver, "gone")}, now=T0).delivered == 1


def test_unreachable_receiver_times_out_and_is_retryable(db):
    seed_stories(db, 1, {"maritime-disputes": ["hook"]})
    with WebhookReceiver() as slow:
        from tests.loopback import Response
        # Far longer than the 0.3 s timeout, so even a starved client times out before the answer.
        slow.route("/hooks/T0KEN-secret-path", lambda _r: Response(200, b"ok", delay=60.0))
        slow.respond = lambda request: Response(200, b"ok", delay=60.0)  # type: ignore[method-assign]
        spec = TargetSpec(name="hook", kind="webhook", url=slow.url("/hooks/T0KEN-secret-path"), timeout=0.3)
        report = deliver_due(db, {"hook": spec}, now=T0)
    assert (report.failed, report.delivered) == (1, 0)
    assert "no answer within 0.3 s" in outbox_summary(db)["hook"]["last_error"]


def test_secrets_never_reach_logs_errors_or_the_database(db, db_path, receiver, caplog):
    seed_stories(db, 2, {"maritime-disputes": ["hook"]})
    spec = hook(receiver, secret="s3cr3t-hmac-key")
    receiver.script([500, 404])
    with caplog.at_level(logging.DEBUG):
        deliver_due(db, {"hook": spec}, now=T0)
        deliver_due(db, {"hook": spec}, now=T0 + timedelta(hours=1))
        deliver_due(db, {"hook": spec}, now=T0 + timedelta(hours=2))
        # A refused connection: requests' own message would name the URL.
        dead_port = TargetSpec(name="hook", kind="webhook", url="http://127.0.0.1:9/hooks/T0KEN-secret-path")
        with pytest.raises(DeliveryError) as excinfo:
            send_test_alert(dead_port)
    assert "T0KEN" not in str(excinfo.value)
    assert "T0KEN" not in caplog.text and "s3cr3t" not in caplog.text
    db.conn.commit()
    raw = Path(db_path).read_bytes() + Path(str(db_path) + "-wal").read_bytes() \
        if Path(str(db_path) + "-wal").exists() else Path(db_path).read_bytes()
    assert b"T0KEN" not in raw and b"s3cr3t" not in raw
    assert "T0KEN" not in repr(spec) and "s3cr3t" not in repr(spec)


def test_send_test_alert_reaches_the_receiver(receiver):
    send_test_alert(hook(receiver))
    (request,) = receiver.received
    assert json.loads(request.body)["event"] == "test"
    receiver.script([403])
    with pytest.raises(DeliveryError) as excinfo:
        send_test_alert(hook(receiver))
    assert excinfo.value.status == 403 and excinfo.value.retryable is False


CLAIM_AND_DIE = """
import os, sys
from datetime import datetime
from alerts.delivery.outbox import claim, pending_entries
from alerts.store import open_store
db = open_store(sys.argv[1])
entry = pending_entries(db)[0]
now = datetime.fromisoformat(sys.argv[2])
assert claim(db, entry, now, now + __import__("datetime").timedelta(minutes=5))
os._exit(9)  # dies mid-send, as a SIGKILL would
"""


def test_a_send_cut_off_by_a_crash_is_retried_at_once_not_after_its_lease(db, db_path, receiver):
    seed_stories(db, 2, {"maritime-disputes": ["hook"]})
    done = subprocess.run([sys.executable, "-c", CLAIM_AND_DIE, str(db_path), T0.isoformat()],
                          cwd=Path(__file__).resolve().parent.parent.parent, check=False)
    assert done.returncode == 9
    report = deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(seconds=1))
    assert report.delivered == 2, "the dead sender's row went first, the younger one behind it"
    assert payload_titles(receiver) == [story_text(0)[0], story_text(1)[0]]


def test_a_live_senders_lease_is_respected(db, receiver):
    seed_stories(db, 1, {"maritime-disputes": ["hook"]})
    entry = pending_entries(db)[0]
    assert claim(db, entry, T0, T0 + timedelta(minutes=5))  # this very process is "sending" it
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0 + timedelta(seconds=1)).attempted == 0
    assert receiver.requests == []
