"""Generic JSON webhook channel: the versioned payload of docs/webhook-payload.md, signed.

Events: ``story.alert`` (one story), ``story.digest`` (many stories, split into parts of at most
`DIGEST_PART_STORIES` stories and about `DIGEST_PART_BYTES` bytes, one signed POST each, with `part` and
`parts` fields), ``notice`` (an operations message) and ``test``. Every POST carries `Idempotency-Key`
(stable across retries of one message; ``<key>-<part>`` for a digest part), `X-Newswatch-Event` and,
when the target has a `secret`, the Standard Webhooks headers: `webhook-id` (the idempotency key),
`webhook-timestamp` (Unix seconds at sending) and `webhook-signature: v1,<base64>` — HMAC-SHA256 of
``{webhook-id}.{webhook-timestamp}.{raw body}`` keyed with the UTF-8 bytes of the secret (the Standard
Webhooks secret is ``whsec_`` + base64 of those bytes), so a receiver can refuse old timestamps and
captured deliveries cannot be replayed; plus, for receivers written before it, `X-Newswatch-Signature:
sha256=<hex>` — HMAC-SHA256 of the raw body alone (no replay protection). The body is built only from
stored values, so a retry sends the same bytes (with a fresh timestamp and signature). All article
text has its Unicode format characters (bidi overrides, zero-width characters) removed.

Settings read: the target's `url`, `secret` (both secrets) and `timeout`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import asdict
from typing import Any

from alerts.channels.base import Message, post
from alerts.delivery.digest import Digest
from alerts.delivery.messages import (
    SENTENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Alert,
    Notice,
    notice_text,
    plain,
    safe_url,
    truncate,
)
from alerts.delivery.models import TargetSpec

logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Newswatch-Signature"
DIGEST_PART_STORIES = 25  # stories per POST of a digest
DIGEST_PART_BYTES = 256 * 1024  # body bytes a digest part aims to stay under (one story may exceed it)


def _story(alert: Alert) -> dict[str, Any]:
    story = {
        "id": alert.story_id,
        "title": truncate(alert.title, TITLE_MAX),
        "url": safe_url(alert.url),
        "outlet": plain(alert.outlet),
        "published": alert.published,
        "summary": truncate(alert.summary, SUMMARY_MAX),
        "article_count": alert.article_count,
        "outlets": [plain(o) for o in alert.outlets],
    }
    if alert.links is not None:  # only with web.public_url: payloads stay as they were without it
        story["workbench_url"] = alert.links.story
    return story


def _matches(alert: Alert) -> list[dict[str, Any]]:
    return [
        {
            "watchlist": hit.name,
            "score": hit.score,
            "rules": list(hit.rules),
            "evidence": [{**asdict(ev), "term": plain(ev.term), "entity": plain(ev.entity) if ev.entity else ev.entity,
                          "sentence": truncate(ev.sentence, SENTENCE_MAX)} for ev in hit.evidence],
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


def webhook_digest_payload(digest: Digest, stories: tuple[Alert, ...] | None = None, part: int = 1,
                           parts: int = 1) -> dict[str, Any]:
    """The version-1 JSON payload of a digest (or of one part of it: `stories`, numbered `part` of `parts`)."""
    shown = digest.stories if stories is None else stories
    return {
        **_envelope("story.digest", digest.key, digest.created_at, digest.target),
        "part": part,
        "parts": parts,
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
        "stories": [_digest_story(story) for story in shown],
    }


def _digest_story(story: Alert) -> dict[str, Any]:
    return {**_story(story), "watchlists": list(story.watchlist_names), "matches": _matches(story)}


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def digest_bodies(digest: Digest, max_stories: int = DIGEST_PART_STORIES,
                  max_bytes: int = DIGEST_PART_BYTES) -> list[bytes]:
    """The POST bodies of a digest: its stories in order, at most `max_stories` and (unless one story
    alone is larger) about `max_bytes` per body, each body numbered ``part`` of ``parts``."""
    groups: list[list[Alert]] = [[]]
    size = 0
    for story in digest.stories:
        story_size = len(_encode(_digest_story(story))) + 2
        if groups[-1] and (len(groups[-1]) >= max_stories or size + story_size > max_bytes - 4096):
            groups.append([])
            size = 0
        groups[-1].append(story)
        size += story_size
    return [_encode(webhook_digest_payload(digest, tuple(group), n, len(groups)))
            for n, group in enumerate(groups, 1)]


def webhook_notice_payload(notice: Notice) -> dict[str, Any]:
    """The version-1 JSON payload of an operations notice."""
    return {
        **_envelope("notice", notice.key, notice.created_at, notice.target),
        "notice": {"key": plain(notice.notice_key), "subject": truncate(notice.subject, TITLE_MAX),
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
    """The legacy signature header value: ``sha256=`` + hex HMAC-SHA256 of `body` keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def sign_standard(message_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """The `webhook-signature` value (Standard Webhooks): ``v1,`` + base64 HMAC-SHA256 of
    ``{message_id}.{timestamp}.{body}`` keyed with the UTF-8 bytes of `secret`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()).decode()


def standard_secret(secret: str) -> str:
    """The target's secret in Standard Webhooks form (``whsec_`` + base64), for receivers' libraries."""
    return "whsec_" + base64.b64encode(secret.encode("utf-8")).decode()


class WebhookChannel:
    """Posts alerts, digests and notices as signed JSON to any HTTP endpoint."""

    kind = "webhook"

    def send(self, message: Message, target: TargetSpec) -> None:
        """Post one message (a digest as one POST per part, in order); raises DeliveryError (see
        `channels.base.post`) unless every POST is answered 2xx."""
        if isinstance(message, Digest):
            bodies = digest_bodies(message)
        elif isinstance(message, Notice):
            bodies = [_encode(webhook_notice_payload(message))]
        else:
            bodies = [_encode(webhook_payload(message))]
        for part, body in enumerate(bodies, 1):
            message_id = message.key if len(bodies) == 1 else f"{message.key}-{part}"
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": message_id,
                "X-Newswatch-Event": event_of(message),
                "X-Newswatch-Payload-Version": str(PAYLOAD_VERSION),
            }
            if target.secret:
                timestamp = int(time.time())
                headers.update({
                    "webhook-id": message_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign_standard(message_id, timestamp, body, target.secret),
                    SIGNATURE_HEADER: sign(body, target.secret),
                })
            post(target, body, headers)
        logger.debug("webhook: message %s sent to target %s in %d POST(s)", message.key, target.name, len(bodies))
