"""Who may use the workbench, and the tokens and headers that keep it safe.

- Identity (`identify()`): with a trusted proxy header configured and the request coming from one of
  `web.trusted_proxies`, the header names the user; else with `web.password` set, HTTP Basic
  credentials (password compared in constant time, the user name kept with judgements); else, bound
  to loopback, everyone is ``local``. Anything else is refused with 401.
- CSRF (`csrf_pair()`, `csrf_ok()`): signed double submit. A random nonce lives in a
  ``SameSite=Strict`` HttpOnly cookie; every form carries HMAC(secret key, nonce); a POST whose field
  does not match its cookie, or whose ``Origin`` names another host, is refused with 403.
- Feed tokens (`feed_token()`): HMAC-SHA256(secret key, ``feed:`` + watchlist), so one leaked feed URL
  opens that feed only; changing the key revokes them all.
- The secret key: `web.secret_key`, or one generated once and kept in the store's ``web_state`` table
  (`alerts.links.signing_key`, which also signs the one-click links in alerts).
- `SECURITY_HEADERS`: a strict Content-Security-Policy (no inline script or style, nothing from
  elsewhere), no framing, no sniffing, no referrer sent to other sites.

Settings read: ``web.password``, ``web.secret_key``, ``web.trusted_user_header``, ``web.trusted_proxies``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from scheduler.web.settings import WebSettings

CSRF_COOKIE = "nw_csrf"
CSRF_FIELD = "csrf"
LOCAL_USER = "local"

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # not "no-referrer": Chromium then posts forms with Origin: null
    "cache-control": "no-store",
}


def sign(key: bytes, message: str) -> str:
    """HMAC-SHA256 of `message` under the workbench key, as hex.

    Prefix the message with its purpose (``feed:``, ``csrf:``; e.g. ``judge:`` for one-click links in
    alerts) so a token made for one use is never valid for another.
    """
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def feed_token(key: bytes, watchlist: str) -> str:
    """The token that opens the Atom feed of one watchlist (32 hex digits)."""
    return sign(key, f"feed:{watchlist}")[:32]


def feed_token_ok(key: bytes, watchlist: str, token: str | None) -> bool:
    """Whether `token` opens the feed of `watchlist` (compared in constant time)."""
    return bool(token) and hmac.compare_digest(feed_token(key, watchlist), str(token))


def csrf_pair(key: bytes, nonce: str | None) -> tuple[str, str]:
    """(cookie nonce, form token): the nonce given (a fresh one when None) and its signature."""
    nonce = nonce or secrets.token_urlsafe(24)
    return nonce, sign(key, f"csrf:{nonce}")


def csrf_ok(key: bytes, nonce: str | None, token: str | None) -> bool:
    """Whether a form's token belongs to the cookie's nonce."""
    if not nonce or not token:
        return False
    return hmac.compare_digest(sign(key, f"csrf:{nonce}"), str(token))


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether an ``Origin`` header (absent counts as same) names the host the request came to."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking: a user name, or None when the request is refused (with `why`)."""

    user: str | None
    why: str = ""


def _from_proxy(settings: WebSettings, client: str | None) -> bool:
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.trusted_proxies)


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def identify(settings: WebSettings, headers: dict[str, str], client: str | None) -> Identity:
    """Decide who the request comes from.

    Args:
        settings: the web settings.
        headers: the request headers, names in lower case.
        client: the peer's address.

    Returns:
        An Identity; `user` None means refuse (401).
    """
    if settings.trusted_user_header and _from_proxy(settings, client):
        user = headers.get(settings.trusted_user_header.lower(), "").strip()
        if user:
            return Identity(user[:100])
    if settings.password:
        creds = _basic(headers.get("authorization"))
        # Compare digests, so neither the length nor the content of the password leaks through timing.
        given = hashlib.sha256((creds[1] if creds else "").encode("utf-8")).digest()
        wanted = hashlib.sha256(settings.password.encode("utf-8")).digest()
        if creds is not None and hmac.compare_digest(given, wanted):
            return Identity((creds[0] or "analyst")[:100])
        return Identity(None, "a password is needed")
    if settings.trusted_user_header:
        return Identity(None, "sign in through the reverse proxy")
    return Identity(LOCAL_USER)
