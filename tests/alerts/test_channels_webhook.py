"""Generic JSON webhook: the documented version-1 payload, HMAC signature, idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.worker import deliver_due
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, hook, keyword_match


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def test_payload_is_versioned_signed_and_carries_evidence(db, receiver):
    add_article(db, "https://news.example/shoal", "Coast guard water cannon at Second Thomas Shoal",
                "Philippine boats were hit. The coast guard used water cannon near the shoal.", source="cna")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["hook"]}, now=T0)
    secret = "shared-secret-123"
    assert deliver_due(db, {"hook": hook(receiver, secret=secret)}, now=T0).delivered == 1
    (request,) = receiver.received
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-newswatch-signature"] == expected
    payload = json.loads(request.body)
    assert payload["version"] == 1 and payload["event"] == "story.alert"
    assert request.headers["idempotency-key"] == payload["id"]
    assert payload["story"]["title"] == "Coast guard water cannon at Second Thomas Shoal"
    assert payload["story"]["url"] == "https://news.example/shoal"
    assert payload["story"]["outlet"] == "cna"
    assert payload["watchlists"] == ["maritime-disputes"]
    (watchlist,) = payload["matches"]
    assert watchlist["watchlist"] == "maritime-disputes"
    terms = {e["term"] for e in watchlist["evidence"]}
    assert {"coast guard", "shoal"} <= terms
    assert any("water cannon" in e["sentence"] for e in watchlist["evidence"])


def test_unsigned_when_no_secret_and_a_retry_sends_the_same_bytes(db, receiver):
    add_article(db, "https://news.example/frigate", "Navy buys frigate", "The frigate deal was signed.")
    process_new_articles(db, keyword_match, {"arms-deals": ["hook"]}, now=T0)
    receiver.script([503])
    deliver_due(db, {"hook": hook(receiver)}, now=T0)
    deliver_due(db, {"hook": hook(receiver)}, now=T0.replace(hour=12))
    first, second = receiver.requests
    assert "x-newswatch-signature" not in first.headers
    assert first.body == second.body
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
