"""Slack incoming-webhook channel: one Block Kit message per alert, digest or notice, with a plain
`text` fallback.

The message shows the linked title, outlet and publication time, the watchlists that matched, up to
`EVIDENCE_MAX` evidence lines per watchlist (term and sentence), a short summary and the other
outlets that carried the story. A digest is one message: a heading, then per watchlist a numbered
list of linked titles with outlet and time, packed into as few blocks as fit (a digest too long for
Slack's 50 blocks ends with "… and N more stories"). A notice is a heading and its text. All
article text passes through `render.slack_text()`, so nothing from the web can mention people,
broadcast to a channel or forge a link. Slack's block limits (3000 characters per text object, 50
blocks) are respected.

Settings read: the target's `url` (the webhook URL, a secret) and `timeout`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from alerts.channels.base import Message, post
from alerts.digest import Digest, story_meta
from alerts.models import TargetSpec
from alerts.render import (
    EVIDENCE_MAX,
    SENTENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Alert,
    Notice,
    notice_text,
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


def _link(story: Alert) -> str:
    title = slack_text(story.title, TITLE_MAX)
    url = safe_url(story.url)
    return f"*<{url}|{title}>*" if url else f"*{title}*"


def slack_digest_payload(digest: Digest, max_blocks: int = 50) -> dict[str, Any]:
    """The JSON body for a digest: a heading, then per watchlist its stories, within Slack's limits."""
    blocks: list[dict[str, Any]] = [
        _section(f":newspaper: *{slack_text(digest.title, 200)}*"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_text(
            f"Due {digest.local(digest.due_at)} · {digest.why} · for {digest.target}", 500)}]},
    ]
    chunks: list[tuple[str, int]] = []  # (section text, stories in it), in order
    number = 0
    for watchlist, stories in digest.sections():
        lines, count = [f"*{slack_text(watchlist, 80)}* ({len(stories)})"], 0
        for story in stories:
            number += 1
            line = f"{number}. {_link(story)}\n      {slack_text(story_meta(story), 300)}"
            others = [n for n in story.watchlist_names if n != watchlist]
            if others:
                line += " · also " + ", ".join(f"`{slack_text(n, 80)}`" for n in others)
            if sum(len(x) + 1 for x in lines) + len(line) > 2900:
                chunks.append(("\n".join(lines), count))
                lines, count = [], 0
            lines.append(line)
            count += 1
        chunks.append(("\n".join(lines), count))
    shown = 0
    for text, count in chunks:
        if len(blocks) >= max_blocks - 1:  # keep one block for "… and N more"
            break
        blocks.append(_section(text))
        shown += count
    if shown < len(digest.stories):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"… and {len(digest.stories) - shown} more stories (`newswatch stories` lists them)"}]})
    titles = "; ".join(slack_text(s.title, 80) for s in digest.stories[:3])
    fallback = f"{slack_text(digest.title, 200)}: {titles}"
    return {"text": truncate(fallback, 3000), "blocks": blocks[:max_blocks], "unfurl_links": False}


def slack_notice_payload(notice: Notice) -> dict[str, Any]:
    """The JSON body for an operations notice: a heading and its text, line breaks kept."""
    text = "\n".join(slack_text(line, 500) if line.strip() else "" for line in notice_text(notice).split("\n"))
    blocks = [_section(f":warning: *{slack_text(notice.subject, 250)}*")]
    if text.strip():
        blocks.append(_section(text))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "newswatch operations notice"}]})
    return {"text": f"newswatch: {slack_text(notice.subject, 250)}", "blocks": blocks, "unfurl_links": False}


class SlackChannel:
    """Posts alerts, digests and notices to a Slack incoming webhook."""

    kind = "slack"

    def send(self, message: Message, target: TargetSpec) -> None:
        """Post one message; raises DeliveryError (see `channels.base.post`) unless Slack accepted it."""
        if isinstance(message, Digest):
            payload = slack_digest_payload(message)
        elif isinstance(message, Notice):
            payload = slack_notice_payload(message)
        else:
            payload = slack_payload(message)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        post(target, body, {"Content-Type": "application/json; charset=utf-8"})
        logger.debug("slack: message %s sent to target %s", message.key, target.name)
