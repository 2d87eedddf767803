"""Webhook signatures as a receiver checks them, written from docs/webhook-payload.md alone.

The verifier below uses only hmac/hashlib/base64 and the documented string
``{webhook-id}.{webhook-timestamp}.{raw body}``; it imports nothing from newswatch's signing code.
When the `standardwebhooks` package is installed, its `Webhook.verify` must accept the deliveries too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import TargetSpec
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.alerts.test_digests import MORNING, NIGHT, TOKYO_NIGHT
from tests.loopback import Request

SECRET = "s3cret-shared-with-the-receiver"
TOLERANCE = 300  # seconds, as the docs advise


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def verify(request: Request, secret: str, now: float) -> dict:
    """A receiver's check, as docs/webhook-payload.md describes it; returns the parsed body."""
    msg_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    assert abs(now - int(timestamp)) <= TOLERANCE, "stale or future timestamp: refuse (replay)"
    signed = f"{msg_id}.{timestamp}.".encode() + request.body
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    offered = [s.partition(",")[2] for s in request.headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, s) for s in offered), "bad signature"
    legacy = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(legacy, request.headers["x-newswatch-signature"])  # older receivers
    return json.loads(request.body)


def standard_verify(request: Request, secret: str) -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    whsec = "whsec_" + base64.b64encode(secret.encode()).decode()  # the mapping the docs give
    standardwebhooks.Webhook(whsec).verify(request.body, {k: v for k, v in request.headers.items()})


def hook(receiver, **extra) -> TargetSpec:
    return TargetSpec(name="hook", kind="webhook", url=receiver.url("/hook"), secret=SECRET, timeout=10.0, **extra)


def test_alert_carries_a_signed_timestamp_that_verifies_from_the_docs(db, receiver):
    add_article(db, "https://news.example/a", "Coast guard standoff at the shoal", "Coast guard ships met.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=T0)
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0).delivered == 1
    (request,) = receiver.received
    payload = verify(request, SECRET, time.time())
    assert payload["id"] == request.headers["webhook-id"] == request.headers["idempotency-key"]
    # A captured delivery replayed later fails the timestamp check; a forged timestamp the signature.
    with pytest.raises(AssertionError, match="replay"):
        verify(request, SECRET, time.time() + 3600)
    forged = Request(request.method, request.path, {**request.headers, "webhook-timestamp": str(int(time.time()) + 5)},
                     request.body)
    with pytest.raises(AssertionError, match="bad signature"):
        verify(forged, SECRET, time.time())


def test_standard_webhooks_library_accepts_the_delivery(db, receiver):
    add_article(db, "https://news.example/a", "Coast guard standoff at the shoal", "Coast guard ships met.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=T0)
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0).delivered == 1
    standard_verify(receiver.received[0], SECRET)


def test_test_alert_id_has_the_documented_form(receiver):
    send_test_alert(hook(receiver))
    (request,) = receiver.received
    payload = verify(request, SECRET, time.time())
    assert payload["event"] == "test"
    assert re.fullmatch(r"nw-[0-9a-f]{32}", payload["id"])
    assert re.fullmatch(r"nw-[0-9a-f]{32}", request.headers["idempotency-key"])


def test_large_digest_is_split_into_signed_parts(db, receiver):
    count = 60
    titles = []
    for n in range(count):
        words = " ".join(hashlib.sha256(f"{n}-{i}".encode()).hexdigest()[:8] for i in range(6))
        titles.append(f"Coast guard report {words}")
        add_article(db, f"https://news.example/{n}", titles[-1], f"Coast guard ships sighted {words} today.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=NIGHT)
    assert deliver_due(db, {"hook": hook(receiver, quiet_hours=TOKYO_NIGHT)}, now=NIGHT).held == count
    report = deliver_due(db, {"hook": hook(receiver, quiet_hours=TOKYO_NIGHT)}, now=MORNING)
    assert report.delivered == 1
    bodies = [verify(request, SECRET, time.time()) for request in receiver.received]
    assert len(bodies) > 1
    assert [b["part"] for b in bodies] == list(range(1, len(bodies) + 1))
    assert {b["parts"] for b in bodies} == {len(bodies)}
    assert all(len(r.body) <= 256 * 1024 for r in receiver.received)
    assert [s["title"] for b in bodies for s in b["stories"]] == titles
    assert {b["digest"]["story_count"] for b in bodies} == {count}
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(ids)) == len(ids)
    if _has_standardwebhooks():
        for request in receiver.received:
            standard_verify(request, SECRET)


def _has_standardwebhooks() -> bool:
    try:
        import standardwebhooks  # noqa: F401
    except ImportError:
        return False
    return True


def test_webhook_strings_carry_no_bidi_or_zero_width_characters(db, receiver):
    spoof = "\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u2060\ufeff"
    add_article(db, "https://news.example/spoof", f"Coast guard {spoof}clash at the shoal",
                f"Coast guard ships{spoof} met at the shoal.", source=f"evil{spoof}outlet",
                summary=f"Ships {spoof}met.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=T0)
    assert deliver_due(db, {"hook": hook(receiver)}, now=T0).delivered == 1
    body = receiver.received[0].body.decode("utf-8")
    assert not set(body) & set(spoof)
    payload = json.loads(body)
    assert payload["story"]["title"] == "Coast guard clash at the shoal"
    assert payload["story"]["outlet"] == "eviloutlet"
