"""Slack incoming-webhook channel: one Block Kit message per alert with a plain `text` fallback.

The message shows the linked title, outlet and publication time, the watchlists that matched, up to
`EVIDENCE_MAX` evidence lines per watchlist (term and sentence), a short summary and the other
outlets that carried the story. All article text passes through `render.slack_text()`, so nothing
from the web can mention people, broadcast to a channel or forge a link. Slack's block limits (3000
characters per text object, 50 blocks) are respected.

Settings read: the target's `url` (the webhook URL, a secret) and `timeout`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from alerts.channels.base import post
from alerts.models import TargetSpec
from alerts.render import (
    EVIDENCE_MAX,
    SENTENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Alert,
    safe_url,
    slack_text,
    truncate,
)

logger = logging.getLogger(__name__)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The JSON body for Slack: Block Kit `blocks` plus a `text` fallback for notifications."""
    title = slack_text(alert.title, TITLE_MAX)
    url = safe_url(alert.url)
    heading = f"*<{url}|{title}>*" if url else f"*{title}*"
    if alert.test:
        heading = ":white_check_mark: " + heading
    meta = " · ".join(filter(None, [slack_text(alert.outlet, 80), slack_text(alert.host, 80)
                                    if alert.host and alert.host != alert.outlet else "",
                                    slack_text(alert.published or "", 40)]))
    names = ", ".join(f"`{slack_text(n, 80)}`" for n in alert.watchlist_names)
    blocks: list[dict[str, Any]] = [_section(heading)]
    if meta:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": meta}]})
    blocks.append(_section(f"*Watchlists:* {names}"))
    lines = []
    for hit in alert.watchlists:
        for ev in hit.evidence[:EVIDENCE_MAX]:
            lines.append(f"• *{slack_text(ev.term, 80)}* ({slack_text(hit.name, 80)}) — "
                         f"_{slack_text(ev.sentence, SENTENCE_MAX)}_")
    if lines:
        blocks.append(_section("\n".join(lines)))
    if alert.summary:
        blocks.append(_section(slack_text(alert.summary, SUMMARY_MAX)))
    others = [o for o in alert.outlets if o != alert.outlet]
    if others:
        text = "Also reported by " + ", ".join(slack_text(o, 60) for o in others[:10])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    fallback = f"{slack_text(alert.title, TITLE_MAX)} — {slack_text(alert.outlet, 80)} " \
               f"[{', '.join(slack_text(n, 80) for n in alert.watchlist_names)}]"
    return {"text": truncate(fallback, 3000), "blocks": blocks[:50], "unfurl_links": False}


class SlackChannel:
    """Posts alerts to a Slack incoming webhook."""

    kind = "slack"

    def send(self, alert: Alert, target: TargetSpec) -> None:
        """Post one alert; raises DeliveryError (see `channels.base.post`) unless Slack accepted it."""
        body = json.dumps(slack_payload(alert), ensure_ascii=False).encode("utf-8")
        post(target, body, {"Content-Type": "application/json; charset=utf-8"})
        logger.debug("slack: story %d sent to target %s", alert.story_id, target.name)
