"""Links from an alert back to the workbench: the story's page, and signed one-click "not relevant" links.

When the workbench has a public address (``web.public_url``), the scheduler gives every target a
`StoryLinks` (``TargetSpec.links``); `alert_links()` then composes, for one alert, the story page's
URL and, per watchlist the alert names, a link that records "not relevant for that watchlist".
Slack and email show both; the webhook payload carries the story's URL only (a machine has nothing
to click). Without ``public_url`` nothing here runs and messages are as before, byte for byte.

The judge link carries a token: ``<story id>.<expiry>.<watchlist, base64url>.<signature>`` where the
signature is HMAC-SHA256 over ``judge:not-relevant:<story id>:<watchlist>:<expiry>`` keyed with the
workbench's secret key, base64url without padding — URL-safe, so it travels through Slack and mail
untouched. `read_judge_token()` refuses a forged or altered token and one past its expiry. The expiry
is the alert's queueing time plus `TOKEN_DAYS`, so a retried message carries the same bytes.

Opening the link does not judge: the workbench answers the GET with a confirmation page whose
button POSTs (``scheduler.web.links``). Mail scanners and link previewers follow GET links, and a
GET that recorded a label would let them judge for the analyst.

The key: ``web.secret_key`` when configured, else the one the workbench generated once and keeps in
the store's ``web_state`` table (`signing_key()` reads it, or creates it exactly as the workbench
does when the daemon sends before the workbench ever ran).

Settings read: none (the scheduler passes ``web.public_url`` and ``web.secret_key`` in `StoryLinks`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

TOKEN_DAYS = 30


@dataclass(frozen=True, slots=True)
class StoryLinks:
    """Where the workbench is, and the key that signs judge links (None: the one kept in the store)."""

    base_url: str
    key: bytes | None = field(default=None, repr=False)
    token_days: int = TOKEN_DAYS


@dataclass(frozen=True, slots=True)
class AlertLinks:
    """The links one alert carries: its story's page and a "not relevant" link per watchlist."""

    story: str
    not_relevant: tuple[tuple[str, str], ...] = ()  # (watchlist, URL)


@dataclass(frozen=True, slots=True)
class JudgeToken:
    """What a valid judge token says."""

    story_id: int
    watchlist: str
    expires: int  # Unix seconds


class TokenError(ValueError):
    """A judge token that must be refused; the message says why in words an analyst can act on."""


def signing_key(conn: sqlite3.Connection, configured: str | bytes | None) -> bytes:
    """The workbench's secret key: the configured one, or the one generated once and kept in ``web_state``.

    The one owner of that key: the workbench's feed and form tokens (``scheduler.web.security``) and the
    one-click links in alerts sign with it. The table is alerts migration 3.
    """
    if configured:
        return configured if isinstance(configured, bytes) else configured.encode("utf-8")
    with conn:
        conn.execute("INSERT OR IGNORE INTO web_state (key, value) VALUES ('secret_key', ?)",
                     [secrets.token_urlsafe(32)])
    row = conn.execute("SELECT value FROM web_state WHERE key = 'secret_key'").fetchone()
    return str(row[0]).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, story_id: int, watchlist: str, expires: int) -> str:
    message = f"judge:not-relevant:{story_id}:{watchlist}:{expires}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def judge_token(key: bytes, story_id: int, watchlist: str, expires: int) -> str:
    """A URL-safe token that lets its holder mark `story_id` not relevant for `watchlist` until `expires`."""
    return f"{story_id}.{expires}.{_b64(watchlist.encode('utf-8'))}.{_signature(key, story_id, watchlist, expires)}"


def read_judge_token(key: bytes, token: str, now: datetime) -> JudgeToken:
    """Check a judge token and say what it allows.

    Raises:
        TokenError: the token is malformed, its signature does not match (forged or altered), or it expired.
    """
    parts = token.split(".")
    try:
        story_id, expires, watchlist = int(parts[0]), int(parts[1]), _unb64(parts[2]).decode("utf-8")
        signature = parts[3]
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError("this link is not a newswatch judge link (it may have been cut short by the mail "
                         "program); open the story from the workbench and judge it there") from None
    if len(parts) != 4 or not hmac.compare_digest(_signature(key, story_id, watchlist, expires), signature):
        raise TokenError("this link's signature does not match: it was altered, or made with another key "
                         "(web.secret_key changed); judge the story on its page in the workbench")
    if now.timestamp() > expires:
        raise TokenError(f"this link expired on {datetime.fromtimestamp(expires, UTC).isoformat(timespec='minutes')}; "
                         "judge the story on its page in the workbench")
    return JudgeToken(story_id, watchlist, expires)


def alert_links(links: StoryLinks, key: bytes, story_id: int, watchlists: tuple[str, ...],
                queued_at: datetime) -> AlertLinks:
    """The story page and the "not relevant" link of each watchlist, for one alert queued at `queued_at`."""
    base = links.base_url.rstrip("/")
    expires = int((queued_at + timedelta(days=links.token_days)).timestamp())
    return AlertLinks(
        story=f"{base}/stories/{story_id}",
        not_relevant=tuple((w, f"{base}/judge/{judge_token(key, story_id, w, expires)}") for w in watchlists))
