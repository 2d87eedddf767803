"""Slack channel: one Block Kit message per alert, digest or notice, with a plain `text` fallback,
posted to an incoming webhook or, in bot-token mode, with the Web API's `chat.postMessage`.

The message shows the linked title, outlet and publication time, the watchlists that matched, up to
`EVIDENCE_LINES` evidence lines (one per distinct sentence, with its terms and watchlists), a short
summary and the other
outlets that carried the story. A digest is one message: a heading, then per watchlist a numbered
list of linked titles with outlet and time, packed into as few blocks as fit (a digest too long for
Slack's 50 blocks ends with "… and N more stories"). A notice is a heading and its text. All
article text passes through `render.slack_text()`, so nothing from the web can mention people,
broadcast to a channel, forge a link or turn on bold, italics, strike-through or code. Slack's block
limits (3000 characters per text object, 50 blocks) are respected by dropping whole lines, never by
cutting inside a link or an entity; a link whose URL would not fit is left out (the title stays).
An incoming webhook answers ``ok`` (plain text) when it posted the message; any other answer, even
with HTTP 200 (``invalid_blocks``, ``channel_not_found``, ``no_text``, …), is a failure: retryable
only for Slack's temporary errors (`_RETRYABLE_ERRORS`).

Two modes. With `url`, messages go to an incoming webhook, which answers without saying where the
message landed. With `token` (a bot token) and `channel`, they go to `{api_url}/chat.postMessage`
(JSON, `Authorization: Bearer …`); Slack answers with the message's `ts`, which `send()` returns as
a `Receipt` so that later articles of the story can be posted as thread replies (`send_update()`,
"Also reported by <outlet>: <title>"). The Web API answers most failures with HTTP 200 and
``{"ok": false, "error": "..."}``: `ratelimited` and Slack's own internal errors are retryable (a 429
honours Retry-After, as do 5xx), every other error code — `invalid_auth`, `channel_not_found`,
`not_in_channel`, … — will not heal by itself and is not retryable; the error message says what to
fix. The token never appears in an error, a log line or the database.

Settings read: the target's `url` (the webhook URL, a secret), or `token` (a secret), `channel` and
`api_url`; and `timeout`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from alerts.channels.base import (
    RETRYABLE_STATUSES,
    USER_AGENT,
    Message,
    parse_retry_after,
    post,
    scrub,
    timed_post,
)
from alerts.delivery.digest import Digest, story_links, story_meta
from alerts.delivery.messages import (
    SENTENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Alert,
    Notice,
    StoryUpdate,
    notice_text,
    slack_text,
    slack_url,
    truncate,
)
from alerts.delivery.models import Receipt, TargetSpec
from alerts.errors import DeliveryError

logger = logging.getLogger(__name__)


SECTION_MAX = 3000  # characters of a section's text (Slack's limit)
EVIDENCE_LINES = 6  # distinct evidence sentences shown per alert
_PARTIAL = re.compile(r"(&[a-z]{0,4}|<[^>]*)$")


def _fit(text: str, limit: int = SECTION_MAX) -> str:
    """`text` within `limit` characters, cut at a line (else a space) and never inside an entity or a link."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for sep in ("\n", " "):
        at = cut.rfind(sep)
        if at > limit // 2:
            cut = cut[:at]
            break
    return _PARTIAL.sub("", cut).rstrip() + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _fit(text)}}


def _heading_link(title: str, url: str, limit: int = SECTION_MAX - 10) -> str:
    """``*<url|title>*``, or ``*title*`` when there is no safe URL or link and title would not fit."""
    if url and len(url) + len(title) + 5 <= limit:
        return f"*<{url}|{title}>*"
    return f"*{title}*"


def _evidence_lines(alert: Alert) -> list[str]:
    """One line per distinct evidence sentence (its terms and watchlists gathered), in order."""
    found: dict[str, tuple[str, list[str], list[str]]] = {}  # folded sentence → (sentence, terms, names)
    for hit in alert.watchlists:
        for ev in hit.evidence:
            sentence = truncate(ev.sentence, SENTENCE_MAX)
            _, terms, names = found.setdefault(sentence.casefold(), (sentence, [], []))
            if ev.term not in terms:
                terms.append(ev.term)
            if hit.name not in names:
                names.append(hit.name)
    lines = []
    for sentence, terms, names in list(found.values())[:EVIDENCE_LINES]:
        shown = ", ".join(f"*{slack_text(t, 80)}*" for t in terms[:4])
        lines.append(f"• {shown} ({', '.join(slack_text(n, 80) for n in names)}) — "
                     f"_{slack_text(sentence, SENTENCE_MAX)}_")
    return lines


def _pack(lines: list[str], limit: int = SECTION_MAX) -> str:
    """Whole lines, as many as fit in `limit` characters."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 40:
            kept.append(f"… and {len(lines) - len(kept)} more")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The JSON body for Slack: Block Kit `blocks` plus a `text` fallback for notifications."""
    heading = _heading_link(slack_text(alert.title, TITLE_MAX), slack_url(alert.url))
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
    lines = _evidence_lines(alert)
    if lines:
        blocks.append(_section(_pack(lines)))
    if alert.summary:
        blocks.append(_section(slack_text(alert.summary, SUMMARY_MAX)))
    others = [o for o in alert.outlets if o != alert.outlet]
    if others:
        text = "Also reported by " + ", ".join(slack_text(o, 60) for o in others[:10])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(text)}]})
    if alert.links is not None:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(_links_line(alert))}]})
    fallback = f"{slack_text(alert.title, TITLE_MAX)} — {slack_text(alert.outlet, 80)} " \
               f"[{', '.join(slack_text(n, 80) for n in alert.watchlist_names)}]"
    return {"text": _fit(fallback), "blocks": blocks[:50], "unfurl_links": False}


def _links_line(alert: Alert) -> str:
    """The workbench's links (our own URLs): open the story, and one "not relevant" link per watchlist."""
    assert alert.links is not None
    parts = [f"<{slack_url(alert.links.story)}|Open in newswatch>"]
    judge = [f"<{slack_url(url)}|{slack_text(name, 80)}>" for name, url in alert.links.not_relevant]
    if judge:
        parts.append("Not relevant for: " + ", ".join(judge))
    return " · ".join(parts)


def _link(story: Alert) -> str:
    return _heading_link(slack_text(story.title, TITLE_MAX), slack_url(story.url), 1500)


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
            judge = story_links(story, watchlist)
            if judge is not None:
                line += f" · <{slack_url(judge[0])}|open>" + (f" · <{slack_url(judge[1])}|not relevant>"
                                                              if judge[1] else "")
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
    return {"text": _fit(fallback), "blocks": blocks[:max_blocks], "unfurl_links": False}


def slack_notice_payload(notice: Notice) -> dict[str, Any]:
    """The JSON body for an operations notice: a heading and its text, line breaks kept."""
    text = "\n".join(slack_text(line, 500) if line.strip() else "" for line in notice_text(notice).split("\n"))
    blocks = [_section(f":warning: *{slack_text(notice.subject, 250)}*")]
    if text.strip():
        blocks.append(_section(text))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "newswatch operations notice"}]})
    return {"text": f"newswatch: {slack_text(notice.subject, 250)}", "blocks": blocks, "unfurl_links": False}


def slack_update_payload(update: StoryUpdate) -> dict[str, Any]:
    """The JSON body of a story update: a reply in the alert's thread, "Also reported by <outlet>: <title>"."""
    title = slack_text(update.title, TITLE_MAX)
    url = slack_url(update.url)
    link = f"<{url}|{title}>" if url and len(url) < 2000 else title
    text = f"Also reported by *{slack_text(update.outlet, 80)}*: {link}"
    return {"channel": update.channel, "thread_ts": update.thread_ts, "text": text, "unfurl_links": False,
            "unfurl_media": False}


# Web API error codes worth another try; every other code needs a person to fix something.
_RETRYABLE_ERRORS = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error",
                               "service_unavailable", "request_timeout"})
_FIXES = {
    "invalid_auth": "Slack rejected the bot token: check the target's token (a bot token, xoxb-…)",
    "not_authed": "no bot token reached Slack: check the target's token",
    "token_revoked": "the bot token was revoked: create a new one and set the target's token",
    "token_expired": "the bot token expired: create a new one and set the target's token",
    "account_inactive": "the bot's account is deactivated: reinstall the Slack app and set a new token",
    "missing_scope": "the bot token lacks the chat:write scope: add it and reinstall the Slack app",
    "channel_not_found": "channel {channel} was not found: check the target's channel (an id such as "
                         "C0123ABCD) and that the bot can see it",
    "not_in_channel": "the bot is not in channel {channel}: invite it, or grant it chat:write.public",
    "is_archived": "channel {channel} is archived: unarchive it or set another channel",
}
_CODE = re.compile(r"[^A-Za-z0-9_.-]")


def _api_error(target: TargetSpec, method: str, code: str, status: int, retry_after: float | None) -> DeliveryError:
    code = _CODE.sub("", code)[:60] or "unknown_error"
    retryable = code in _RETRYABLE_ERRORS
    fix = _FIXES.get(code, "Slack will not accept it as sent" if not retryable else "Slack asked to try later")
    text = f"Slack {method} failed: {code} ({fix.format(channel=target.channel or '?')})"
    return DeliveryError(scrub(text, target), channel=target.name, status=status, retryable=retryable,
                         retry_after=retry_after)


_WEBHOOK_FIXES = {
    "invalid_blocks": "Slack refused the message's blocks; please report it as a newswatch bug",
    "invalid_payload": "Slack refused the message; please report it as a newswatch bug",
    "no_text": "Slack refused a message without text; please report it as a newswatch bug",
    "channel_not_found": "the webhook's channel no longer exists: create a new incoming webhook",
    "channel_is_archived": "the webhook's channel is archived: unarchive it or create a new webhook",
    "no_service": "the incoming webhook was removed or disabled: create a new one and set the target's url",
    "invalid_token": "the incoming webhook URL is not valid: create a new one and set the target's url",
    "action_prohibited": "a Slack admin restricted posting to the channel: ask them, or use another channel",
}


def _webhook_error(target: TargetSpec, answer: str, status: int) -> DeliveryError:
    """A 2xx answer of an incoming webhook other than ``ok``: Slack did not post the message."""
    code = _CODE.sub("", answer.split()[0] if answer else "")[:60] or "empty_answer"
    retryable = code in _RETRYABLE_ERRORS or code == "rollup_error"
    fix = _WEBHOOK_FIXES.get(code, "Slack asked to try later" if retryable else
                             "Slack did not post it; check the target's url")
    return DeliveryError(scrub(f"Slack webhook answered {code!r} instead of 'ok' ({fix})", target),
                         channel=target.name, status=status, retryable=retryable)


def api_call(target: TargetSpec, method: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Call a Slack Web API method with the target's bot token; return Slack's answer when it says ok.

    Args:
        target: a slack target in bot-token mode (`token`, `api_url`, `timeout`).
        method: e.g. ``chat.postMessage``.
        payload: the JSON arguments.

    Returns:
        The decoded JSON answer (``ok`` is true).

    Raises:
        DeliveryError: no answer (retryable), HTTP 429/5xx (retryable), another HTTP status, or
            ``ok: false`` (retryable only for `ratelimited` and Slack's internal errors).
    """
    if not target.token:
        raise DeliveryError("no bot token configured", channel=target.name, retryable=False)
    url = f"{target.api_url.rstrip('/')}/{method}"
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json; charset=utf-8",
               "Authorization": f"Bearer {target.token}"}
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    response = timed_post(target, url, body, headers, f"Slack {method}: ")
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if status == 429 or (200 <= status < 300 and answer.get("ok") is False):
        code = str(answer.get("error") or ("ratelimited" if status == 429 else "unknown_error"))
        error = _api_error(target, method, code, status, retry_after)
        if status == 429:
            error.retryable = True
        raise error
    if not 200 <= status < 300:
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        raise DeliveryError(f"Slack {method}: HTTP {status}", channel=target.name, status=status,
                            retryable=retryable, retry_after=retry_after)
    if answer.get("ok") is not True:
        raise DeliveryError(f"Slack {method}: HTTP {status} without a Web API answer; check the target's "
                            f"api_url ({target.api_url})", channel=target.name, status=status)
    return answer


def _receipt(target: TargetSpec, answer: dict[str, Any]) -> Receipt | None:
    ts, channel = answer.get("ts"), answer.get("channel") or target.channel
    if not isinstance(ts, str) or not isinstance(channel, str):
        logger.warning("slack: target %s: Slack accepted the message but sent no ts; no thread replies for it",
                       target.name)
        return None
    return Receipt(ts=ts, channel=channel)


class SlackChannel:
    """Posts alerts, digests and notices to a Slack incoming webhook or, with a bot token, a channel."""

    kind = "slack"

    def send(self, message: Message, target: TargetSpec) -> Receipt | None:
        """Post one message; raises DeliveryError unless Slack accepted it.

        Returns:
            In bot-token mode, where the message landed (its ts and channel); None for a webhook.
        """
        if isinstance(message, Digest):
            payload = slack_digest_payload(message)
        elif isinstance(message, Notice):
            payload = slack_notice_payload(message)
        else:
            payload = slack_payload(message)
        if target.token:
            answer = api_call(target, "chat.postMessage", {"channel": target.channel, **payload})
            logger.debug("slack: message %s posted to target %s", message.key, target.name)
            return _receipt(target, answer)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response = post(target, body, {"Content-Type": "application/json; charset=utf-8"})
        reply = response.text.strip()
        if reply != "ok":
            raise _webhook_error(target, reply, response.status_code)
        logger.debug("slack: message %s sent to target %s", message.key, target.name)
        return None

    def send_update(self, update: StoryUpdate, target: TargetSpec) -> None:
        """Post a story update as a reply in its alert's thread (bot-token mode only).

        Raises:
            DeliveryError: the target has no bot token (not retryable), or as `api_call()`.
        """
        if not target.threads:
            raise DeliveryError("story updates are thread replies, which need a slack target with token "
                                "and channel (an incoming webhook cannot reply in a thread)",
                                channel=target.name, retryable=False)
        api_call(target, "chat.postMessage", slack_update_payload(update))
        logger.debug("slack: story %d update %s posted to target %s", update.story_id, update.key, target.name)
