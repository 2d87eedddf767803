"""Apprise channel: one notification per alert, digest or notice to any Apprise URL (Teams, Discord,
Telegram, ntfy, Matrix, …), so users are not limited to the channels written by hand.

The body is the plain-text alert (`render.plain_text`), digest (`digest.digest_text`, capped at
`DIGEST_MAX` characters) or notice text; the title the capped article title, digest title or
notice subject. Apprise
reports only success or failure, so every failure is treated as retryable and the delivery worker's
backoff and dead-letter apply. HTTP-based services get connect/read timeouts (`cto`/`rto` URL
parameters) from the target's `timeout` unless the URL sets them. Apprise logs the URLs it posts to;
while sending, a filter on the `apprise` logger replaces the target's URL and secrets with `***`.
Slack URLs should use the `slack` kind instead: Apprise's `slack://` always posts to Slack's own host.

Many Apprise services render Markdown or HTML and act on mentions (Discord's ``@everyone``, ``<@id>``),
so every line of the title and body except the article links passes through `apprise_text()`: format
characters (bidi overrides, zero-width characters) removed, ``* _ ~ ` [ ] < > # |`` shown as
look-alikes no service formats with, and a word joiner after the ``@`` of ``@everyone``/``@here``/
``@channel``. It is sent as plain text (`body_format` text).

Settings read: the target's `url` (an Apprise URL, a secret) and `timeout`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import apprise
from apprise import NotifyFormat

from alerts.channels.base import Message, scrub
from alerts.delivery.digest import Digest, digest_text
from alerts.delivery.messages import TITLE_MAX, Notice, notice_text, plain_text, safe_url, strip_format, truncate
from alerts.delivery.models import TargetSpec
from alerts.errors import DeliveryError

logger = logging.getLogger(__name__)

DIGEST_MAX = 10000  # characters of a digest body; services cut long messages anyway


# Characters that Markdown or HTML renderers act on, each shown as a look-alike.
_RENDERED = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb", "[": "\uff3b",
                           "]": "\uff3d", "<": "\u2039", ">": "\u203a", "#": "\uff03", "|": "\u2223"})
_MENTION = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)


def apprise_text(text: str) -> str:
    """Untrusted text made inert for services that render Markdown/HTML or act on mentions; lines that
    are exactly a safe http(s) URL (the article links) are kept as they are."""
    lines = []
    for line in strip_format(text).split("\n"):
        stripped = line.strip()
        if stripped and " " not in stripped and safe_url(stripped) == stripped:
            lines.append(line)
            continue
        lines.append(_MENTION.sub(lambda m: "@\u2060" + m.group(1), line.translate(_RENDERED)))
    return "\n".join(lines)


def _title_and_body(message: Message) -> tuple[str, str]:
    title, body = _raw_title_and_body(message)
    return apprise_text(title), apprise_text(body)


def _raw_title_and_body(message: Message) -> tuple[str, str]:
    if isinstance(message, Digest):
        body = digest_text(message)
        return message.title, body if len(body) <= DIGEST_MAX else body[: DIGEST_MAX - 1] + "…"
    if isinstance(message, Notice):
        return truncate(message.subject, TITLE_MAX), notice_text(message)
    return truncate(message.title, TITLE_MAX), plain_text(message)


class _Scrub(logging.Filter):
    def __init__(self, target: TargetSpec) -> None:
        super().__init__()
        self.target = target

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage(), self.target)
        record.args = ()
        return True


def _with_timeouts(url: str, timeout: float) -> str:
    query = urlsplit(url).query
    extra = [f"{key}={timeout:g}" for key in ("cto", "rto") if f"{key}=" not in query]
    if not extra:
        return url
    return url + ("&" if query else "?") + "&".join(extra)


class AppriseChannel:
    """Sends alerts through Apprise."""

    kind = "apprise"

    def send(self, message: Message, target: TargetSpec) -> None:
        """Notify one message; raises DeliveryError (retryable) when Apprise reports failure."""
        if not target.url:
            raise DeliveryError("no Apprise URL configured", channel=target.name, retryable=False)
        apprise_logger = logging.getLogger("apprise")
        scrubber = _Scrub(target)
        apprise_logger.addFilter(scrubber)
        try:
            notifier = apprise.Apprise()
            if not notifier.add(_with_timeouts(target.url, target.timeout)):
                raise DeliveryError("the Apprise URL is not recognised", channel=target.name, retryable=False)
            title, body = _title_and_body(message)
            ok = notifier.notify(title=title, body=body, body_format=NotifyFormat.TEXT)
        finally:
            apprise_logger.removeFilter(scrubber)
        if not ok:
            raise DeliveryError("Apprise could not deliver the notification", channel=target.name)
        logger.debug("apprise: message %s sent to target %s", message.key, target.name)
