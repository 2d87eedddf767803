"""What an alert or a notice says, and how untrusted article text is made safe for each channel.

`load_alert()` assembles an `Alert` from the store (the story, its first article, the evidence of
each watchlist named by the outbox row), `load_notice()` a `Notice` (an operations message),
`load_update()` a `StoryUpdate` (a later article of an alerted story, and the thread to reply in);
channels turn them into Slack blocks, a JSON payload or an email (digests: `alerts.delivery.digest`). Article
titles, summaries, URLs and evidence sentences come from the web and are untrusted:
`slack_text()` neutralises mrkdwn control sequences (`<!channel>`, `<@U…>`, `<url|text>`, `&`, `<`,
`>`, bare `@here`), `header_text()` strips CR/LF and control characters for email headers, `safe_url()`
only lets http(s) links through, and every field is capped in length.

Settings read: none.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

import sqlite_utils

from alerts.delivery.outbox import OutboxEntry
from alerts.match.models import Evidence
from crawler.errors import StoreError
from crawler.store import get_article
from crawler.timeutil import iso, now_utc

logger = logging.getLogger(__name__)

TITLE_MAX = 250
SUMMARY_MAX = 500
SENTENCE_MAX = 300
EVIDENCE_MAX = 4  # evidence lines shown per watchlist
NOTICE_MAX = 2000  # characters of a notice's text

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# Slack mrkdwn formatting characters, each shown as a look-alike that Slack does not interpret
# (Slack has no escape for them): *bold*, _italic_, ~strike~, `code`.
_MRKDWN = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"})
# An RFC 2047 encoded word starts with "=?"; in a header value we build, a parser would decode it
# (CR/LF included: CVE-2024-6923), so the pair is split wherever it appears.
_ENCODED_WORD = re.compile(r"=\s*\?")


@lru_cache(maxsize=1)
def _format_chars() -> re.Pattern[str]:
    """Every Unicode "Cf" (format) character: bidi overrides and isolates, zero-width spaces and
    joiners, soft hyphens, tag characters — invisible characters that can make text read otherwise."""
    ranges = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    return re.compile("[" + "".join(re.escape(c) for c in ranges) + "]+")


def strip_format(text: str) -> str:
    """`text` without Unicode format characters (category Cf: U+202E, U+2066–2069, U+200B, …)."""
    return _format_chars().sub("", text)


@dataclass(frozen=True, slots=True)
class WatchlistHit:
    """One watchlist named by an alert, with the evidence of its first matching article."""

    name: str
    score: float
    rules: tuple[str, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything a channel needs to send one alert. Text fields are raw (unescaped) values."""

    key: str  # idempotency key, stable across retries
    story_id: int
    target: str
    created_at: str
    title: str
    url: str
    outlet: str
    published: str | None
    summary: str
    watchlists: tuple[WatchlistHit, ...]
    outlets: tuple[str, ...] = ()
    article_count: int = 1
    test: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def watchlist_names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.watchlists)


def truncate(text: str, limit: int) -> str:
    """`text` with whitespace collapsed and format characters removed, cut to at most `limit`
    characters (ending in … when cut)."""
    text = " ".join(strip_format(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def slack_text(text: str, limit: int = 3000) -> str:
    """Untrusted text made inert for Slack mrkdwn: no mentions, links or broadcasts survive.

    `&`, `<` and `>` become entities (so `<!channel>`, `<@U123>` and `<http://x|y>` show as typed),
    `*`, `_`, `~` and backticks become look-alikes Slack does not format with (∗ ＿ ∼ ˋ), and a bare
    `@here`/`@channel`/`@everyone` gets a word joiner after the `@`. `limit` caps the text before
    escaping; the result is at most 5 × `limit` characters (``&amp;``).
    """
    text = truncate(text, limit).translate(_MRKDWN)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)


def slack_url(url: str) -> str:
    """A URL for a Slack ``<url|title>`` link: `safe_url()` with `&` written as ``&amp;`` ("" if unsafe)."""
    return safe_url(url).replace("&", "&amp;")


def plain(text: str) -> str:
    """Untrusted text for a channel that shows it as typed (webhook JSON): format characters removed."""
    return strip_format(text)


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host, with characters that could break a link encoded; else ""."""
    url = strip_format(_CONTROL.sub("", url)).strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def header_text(text: str, limit: int = 200) -> str:
    """Text for an email header: CR, LF, other control and format characters removed, RFC 2047
    encoded words (``=?charset?q?…?=``, which a parser would decode, CR/LF included) split so they
    stay literal text, length capped."""
    return _ENCODED_WORD.sub("= ?", truncate(_CONTROL.sub(" ", text), limit))


def _first_sentence_summary(summary: str, text: str) -> str:
    return truncate(summary or text, SUMMARY_MAX)


def _hits(db: sqlite_utils.Database, story_id: int, names: tuple[str, ...]) -> tuple[WatchlistHit, ...]:
    hits = []
    for name in names:
        row = db.execute(
            "SELECT score, rules, evidence FROM matches WHERE story_id = ? AND watchlist = ? "
            "ORDER BY article_id LIMIT 1", [story_id, name]).fetchone()
        if row is None:
            hits.append(WatchlistHit(name, 0.0, (), ()))
            continue
        evidence = tuple(Evidence(**e) for e in json.loads(row[2] or "[]"))
        hits.append(WatchlistHit(name, float(row[0] or 0.0), tuple(json.loads(row[1] or "[]")), evidence))
    return tuple(hits)


def story_alert(db: sqlite_utils.Database, story_id: int, watchlists: tuple[str, ...], *, key: str, target: str,
                created_at: str) -> Alert:
    """The alert for one story naming `watchlists`, read from the stories, matches and articles tables.

    Raises:
        StoreError: the story or its first article is gone (pruned).
    """
    row = db.execute(
        "SELECT first_article_id, outlets, article_count FROM stories WHERE id = ?", [story_id]
    ).fetchone()
    if row is None:
        raise StoreError(f"story {story_id} no longer exists")
    article = get_article(db, row[0])
    return Alert(
        key=key,
        story_id=story_id,
        target=target,
        created_at=created_at,
        title=article.title,
        url=article.url,
        outlet=article.source or urlsplit(article.url).hostname or "",
        published=article.published,
        summary=_first_sentence_summary(article.summary, article.text),
        watchlists=_hits(db, story_id, watchlists),
        outlets=tuple(json.loads(row[1] or "[]")),
        article_count=int(row[2] or 1),
    )


def load_alert(db: sqlite_utils.Database, entry: OutboxEntry) -> Alert:
    """The alert an outbox row stands for, read from the stories, matches and articles tables.

    Raises:
        StoreError: the story or its first article is gone (pruned).
    """
    try:
        return story_alert(db, entry.story_id, entry.watchlists, key=entry.idempotency_key,
                           target=entry.target, created_at=entry.created_at)
    except StoreError as exc:
        raise StoreError(f"outbox row {entry.id}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Notice:
    """An operations message (a source failing, a config rejected): plain subject and text."""

    key: str  # idempotency key, stable across retries
    notice_key: str  # the caller's key, e.g. source-failing:kyodo:<since>
    target: str
    created_at: str
    subject: str
    text: str


def load_notice(entry: OutboxEntry) -> Notice:
    """The notice an outbox row of kind ``notice`` stands for."""
    return Notice(key=entry.idempotency_key, notice_key=entry.notice_key or "", target=entry.target,
                  created_at=entry.created_at, subject=entry.subject or "", text=entry.body or "")


def notice_text(notice: Notice, limit: int = NOTICE_MAX) -> str:
    """The notice's text, control characters removed (line breaks kept), capped at `limit`."""
    lines = [strip_format(_CONTROL.sub(" ", line)).rstrip() for line in notice.text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class StoryUpdate:
    """A later article of a story already alerted, to be posted as a reply in the alert's thread.

    Text fields are raw (unescaped) values; `thread_ts` and `channel` locate the alert's Slack message.
    """

    key: str  # idempotency key, stable across retries
    story_id: int
    target: str
    created_at: str
    title: str
    url: str
    outlet: str
    published: str | None
    thread_ts: str
    channel: str


def load_update(db: sqlite_utils.Database, entry: OutboxEntry) -> StoryUpdate:
    """The story update an outbox row of kind ``update`` stands for: its article and the parent's thread.

    Raises:
        StoreError: the article is gone (pruned) or the parent alert has no Slack message to reply to.
    """
    parent = db.execute("SELECT slack_ts, slack_channel FROM outbox WHERE id = ?", [entry.parent_id]).fetchone()
    if parent is None or not parent[0] or not parent[1]:
        raise StoreError(f"outbox row {entry.id}: its alert (row {entry.parent_id}) has no Slack message to "
                         "reply to")
    if entry.article_id is None:
        raise StoreError(f"outbox row {entry.id}: a story update without an article")
    try:
        article = get_article(db, entry.article_id)
    except StoreError as exc:
        raise StoreError(f"outbox row {entry.id}: {exc}") from None
    return StoryUpdate(key=entry.idempotency_key, story_id=entry.story_id, target=entry.target,
                       created_at=entry.created_at, title=article.title, url=article.url,
                       outlet=article.source or urlsplit(article.url).hostname or "",
                       published=article.published, thread_ts=str(parent[0]), channel=str(parent[1]))


def sample_alert(target: str) -> Alert:
    """A harmless alert for `newswatch test-alert TARGET`; its key has the usual ``nw-<32 hex>`` form
    (a Message-ID and a webhook id take it as is)."""
    stamp = iso(now_utc())
    evidence = Evidence(rule="test", term="newswatch", entity=None, field="title",
                        sentence="This is a test alert from newswatch.", weight=1.0)
    return Alert(
        key=f"nw-{uuid.uuid4().hex}", story_id=0, target=target, created_at=stamp,
        title="newswatch test alert", url="https://example.org/newswatch-test", outlet="newswatch",
        published=stamp, summary="If you can read this, the target is set up correctly.",
        watchlists=(WatchlistHit("test", 1.0, ("test",), (evidence,)),), outlets=("newswatch",), test=True,
    )


def plain_text(alert: Alert) -> str:
    """The alert as plain text (email text part, Apprise body, Slack's fallback source)."""
    lines = [truncate(alert.title, TITLE_MAX), safe_url(alert.url)]
    lines.append(" · ".join(filter(None, [alert.outlet, alert.published or ""])))
    lines.append("Watchlists: " + ", ".join(alert.watchlist_names))
    for hit in alert.watchlists:
        for ev in hit.evidence[:EVIDENCE_MAX]:
            lines.append(f"- [{hit.name}] {truncate(ev.term, 80)}: {truncate(ev.sentence, SENTENCE_MAX)}")
    if alert.summary:
        lines += ["", truncate(alert.summary, SUMMARY_MAX)]
    if alert.article_count > 1:
        lines.append(f"Also reported by: {', '.join(alert.outlets[1:])}")
    return "\n".join(line for line in lines if line is not None)
