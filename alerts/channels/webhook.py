"""Generic JSON webhook channel: the versioned payload of docs/webhook-payload.md, signed.

Every POST carries `Idempotency-Key` (stable across retries of one alert), `X-Newswatch-Event` and,
when the target has a `secret`, `X-Newswatch-Signature: sha256=<hex>` — HMAC-SHA256 of the raw body
with the secret. The body is built only from stored values, so a retry sends the same bytes.

Settings read: the target's `url`, `secret` (both secrets) and `timeout`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import asdict
from typing import Any

from alerts.channels.base import post
from alerts.models import TargetSpec
from alerts.render import SENTENCE_MAX, SUMMARY_MAX, TITLE_MAX, Alert, safe_url, truncate

logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Newswatch-Signature"


def webhook_payload(alert: Alert) -> dict[str, Any]:
    """The version-1 JSON payload of one alert (see docs/webhook-payload.md)."""
    return {
        "version": PAYLOAD_VERSION,
        "event": "test" if alert.test else "story.alert",
        "id": alert.key,
        "created_at": alert.created_at,
        "target": alert.target,
        "story": {
            "id": alert.story_id,
            "title": truncate(alert.title, TITLE_MAX),
            "url": safe_url(alert.url),
            "outlet": alert.outlet,
            "published": alert.published,
            "summary": truncate(alert.summary, SUMMARY_MAX),
            "article_count": alert.article_count,
            "outlets": list(alert.outlets),
        },
        "watchlists": list(alert.watchlist_names),
        "matches": [
            {
                "watchlist": hit.name,
                "score": hit.score,
                "rules": list(hit.rules),
                "evidence": [
                    {**asdict(ev), "sentence": truncate(ev.sentence, SENTENCE_MAX)} for ev in hit.evidence
                ],
            }
            for hit in alert.watchlists
        ],
    }


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of `body` keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """Posts alerts as signed JSON to any HTTP endpoint."""

    kind = "webhook"

    def send(self, alert: Alert, target: TargetSpec) -> None:
        """Post one alert; raises DeliveryError (see `channels.base.post`) unless answered 2xx."""
        body = json.dumps(webhook_payload(alert), ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": alert.key,
            "X-Newswatch-Event": "test" if alert.test else "story.alert",
            "X-Newswatch-Payload-Version": str(PAYLOAD_VERSION),
        }
        if target.secret:
            headers[SIGNATURE_HEADER] = sign(body, target.secret)
        post(target, body, headers)
        logger.debug("webhook: story %d sent to target %s", alert.story_id, target.name)
