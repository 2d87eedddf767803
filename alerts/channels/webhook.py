"""Generic JSON webhook channel: the versioned payload of docs/webhook-payload.md, signed.

Events: ``story.alert`` (one story), ``story.digest`` (many stories in one POST), ``notice`` (an
operations message) and ``test``. Every POST carries `Idempotency-Key` (stable across retries of one
message), `X-Newswatch-Event` and,
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

from alerts.channels.base import Message, post
from alerts.digest import Digest
from alerts.models import TargetSpec
from alerts.render import SENTENCE_MAX, SUMMARY_MAX, TITLE_MAX, Alert, Notice, notice_text, safe_url, truncate

logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Newswatch-Signature"


def _story(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.story_id,
        "title": truncate(alert.title, TITLE_MAX),
        "url": safe_url(alert.url),
        "outlet": alert.outlet,
        "published": alert.published,
        "summary": truncate(alert.summary, SUMMARY_MAX),
        "article_count": alert.article_count,
        "outlets": list(alert.outlets),
    }


def _matches(alert: Alert) -> list[dict[str, Any]]:
    return [
        {
            "watchlist": hit.name,
            "score": hit.score,
            "rules": list(hit.rules),
            "evidence": [{**asdict(ev), "sentence": truncate(ev.sentence, SENTENCE_MAX)} for ev in hit.evidence],
        }
        for hit in alert.watchlists
    ]


def webhook_payload(alert: Alert) -> dict[str, Any]:
    """The version-1 JSON payload of one alert (see docs/webhook-payload.md)."""
    return {
        **_envelope(event_of(alert), alert.key, alert.created_at, alert.target),
        "story": _story(alert),
        "watchlists": list(alert.watchlist_names),
        "matches": _matches(alert),
    }


def _envelope(event: str, key: str, created_at: str, target: str) -> dict[str, Any]:
    """The fields every version-1 payload starts with (documented in docs/webhook-payload.md)."""
    return {"version": PAYLOAD_VERSION, "event": event, "id": key, "created_at": created_at, "target": target}


def webhook_digest_payload(digest: Digest) -> dict[str, Any]:
    """The version-1 JSON payload of a digest: every story with its watchlists and matches."""
    return {
        **_envelope("story.digest", digest.key, digest.created_at, digest.target),
        "digest": {
            "title": digest.title,
            "reasons": list(digest.reasons),
            "due_at": digest.due_at,
            "timezone": digest.timezone,
            "first_held_at": digest.first_at,
            "last_held_at": digest.last_at,
            "story_count": len(digest.stories),
        },
        "watchlists": list(digest.watchlist_names),
        "stories": [
            {**_story(story), "watchlists": list(story.watchlist_names), "matches": _matches(story)}
            for story in digest.stories
        ],
    }


def webhook_notice_payload(notice: Notice) -> dict[str, Any]:
    """The version-1 JSON payload of an operations notice."""
    return {
        **_envelope("notice", notice.key, notice.created_at, notice.target),
        "notice": {"key": notice.notice_key, "subject": truncate(notice.subject, TITLE_MAX),
                   "text": notice_text(notice)},
    }


def event_of(message: Message) -> str:
    """The event name of a message: ``story.alert``, ``story.digest``, ``notice`` or ``test``."""
    if isinstance(message, Digest):
        return "story.digest"
    if isinstance(message, Notice):
        return "notice"
    return "test" if message.test else "story.alert"


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of `body` keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """Posts alerts, digests and notices as signed JSON to any HTTP endpoint."""

    kind = "webhook"

    def send(self, message: Message, target: TargetSpec) -> None:
        """Post one message; raises DeliveryError (see `channels.base.post`) unless answered 2xx."""
        if isinstance(message, Digest):
            payload = webhook_digest_payload(message)
        elif isinstance(message, Notice):
            payload = webhook_notice_payload(message)
        else:
            payload = webhook_payload(message)
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.key,
            "X-Newswatch-Event": event_of(message),
            "X-Newswatch-Payload-Version": str(PAYLOAD_VERSION),
        }
        if target.secret:
            headers[SIGNATURE_HEADER] = sign(body, target.secret)
        post(target, body, headers)
        logger.debug("webhook: message %s sent to target %s", message.key, target.name)
