"""What every delivery channel shares: the `Channel` interface, HTTP posting with a timeout and
status classification, Retry-After parsing, and scrubbing secrets out of error text.

Status classification (documented for users in docs/webhook-payload.md):
2xx delivered; 408, 425, 429 and 5xx retryable (429 honours Retry-After); every other 3xx/4xx is
not retryable — a wrong URL (404), a revoked webhook (403/410) or a rejected payload (400) will not
heal by itself, so the row goes to dead-letter at once and `newswatch alerts retry` revives it after
the fix. Connection errors and timeouts are retryable.

Every call is bounded by a total deadline of the target's `timeout` (`channels.deadline`): a
receiver that drips its answer a byte at a time is cut off then, and the send fails as retryable.

Settings read: each target's `timeout` (seconds a whole call may take).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import requests

from alerts.channels.deadline import Deadline, http_session
from alerts.delivery.digest import Digest
from alerts.delivery.messages import Alert, Notice
from alerts.delivery.models import Receipt, TargetSpec
from alerts.errors import DeliveryError

logger = logging.getLogger(__name__)

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch)"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_MAX = 6 * 3600.0


class _HideRequestPaths(logging.Filter):
    """urllib3 logs each request line at DEBUG, path included; a webhook's path is its secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple("/***" if isinstance(a, str) and a.startswith("/") else a
                                for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideRequestPaths())


Message = Alert | Digest | Notice
"""What a channel sends: one story (Alert), many stories (Digest) or an operations Notice."""


class Channel(Protocol):
    """A way of sending an alert, a digest or a notice to a target of one kind."""

    kind: str

    def send(self, message: Message, target: TargetSpec) -> Receipt | None:
        """Send one message; return only once the receiver accepted it.

        Returns:
            Where the message landed, when the channel can say (Slack's Web API); otherwise None.

        Raises:
            DeliveryError: with `.retryable` and `.retry_after` set for the delivery worker.
        """
        ...


def secrets_of(target: TargetSpec) -> list[str]:
    """Strings that must never appear in logs, errors or the database for this target."""
    values = [target.secret or "", target.token or ""]
    if target.url:
        values.append(target.url)
        parts = urlsplit(target.url)
        if len(parts.path) > 1:  # Slack-style URLs carry their secret in the path
            values.append(parts.path)
        values.extend([parts.query, parts.password or ""])
    if target.smtp is not None:
        values.append(target.smtp.password or "")
    return sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True)


def scrub(text: str, target: TargetSpec) -> str:
    """`text` with every secret of `target` replaced by `***`."""
    for secret in secrets_of(target):
        text = text.replace(secret, "***")
    return text


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped at 6 hours."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


def timed_post(target: TargetSpec, url: str, body: bytes, headers: Mapping[str, str],
               what: str) -> requests.Response:
    """POST within a total deadline of `target.timeout` seconds and read the whole answer.

    Raises:
        DeliveryError: no complete answer in time, or no connection (retryable); the URL, which may
            hold a secret, is not named.
    """
    with http_session() as session, Deadline(target.timeout) as deadline:
        try:
            response = session.post(url, data=body, headers=headers, timeout=target.timeout,
                                    allow_redirects=False)
            response.content  # noqa: B018 -- read the body inside the deadline
        except requests.RequestException as exc:
            if deadline.expired or isinstance(exc, requests.Timeout):
                raise DeliveryError(f"{what}no answer within {target.timeout:g} s",
                                    channel=target.name) from None
            # The exception text names the URL, which holds the secret: report the class only.
            raise DeliveryError(f"{what}connection failed ({type(exc).__name__})", channel=target.name) from None
    return response


def post(target: TargetSpec, body: bytes, headers: Mapping[str, str]) -> requests.Response:
    """POST `body` to the target's URL within its deadline; raise a classified DeliveryError unless 2xx.

    Args:
        target: a slack or webhook target (its `url` and `timeout` are used).
        body: the raw request body.
        headers: request headers (User-Agent is added).

    Returns:
        The 2xx response.

    Raises:
        DeliveryError: connection error or timeout (retryable), or a non-2xx status (see module doc).
    """
    if not target.url:
        raise DeliveryError("no URL configured", channel=target.name, retryable=False)
    response = timed_post(target, target.url, body, {"User-Agent": USER_AGENT, **headers}, "")
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = scrub(" ".join(response.text[:120].split()), target)
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    raise DeliveryError(f"HTTP {status} {detail}".rstrip(), channel=target.name, status=status,
                        retryable=retryable, retry_after=retry_after)
