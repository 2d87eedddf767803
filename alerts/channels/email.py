"""Email channel: one multipart (text + HTML) message per alert, digest or notice over SMTP.

A digest email has a heading with when it was due and why its stories were held, a contents line
linking to one section per watchlist, and per watchlist a numbered list of stories: the linked
title, outlet, time and other outlets, one line of evidence and a short summary. Its Subject reads
``[newswatch] Daily digest: 12 stories (arms-deals, maritime-disputes)``.

Plain SMTP, STARTTLS or implicit TLS (`SmtpSettings.ssl`) with optional AUTH, a total deadline of
`smtp.timeout` on the whole session (`channels.deadline`; a server that drips its replies is cut off and
the send retried), a timeout on every
connection. TLS always verifies the server's certificate and host name, against the system's CA store
or, when `ca_file` is set, against the certificates in that PEM file (a private CA, or the server's
self-signed certificate). A certificate that does not verify, a failed TLS handshake and an unreadable
`ca_file` are not retryable: they will not heal by themselves, so the row is dead-lettered at once with
a message saying what to fix, and `newswatch alerts retry` sends it after the fix.

The Message-ID is derived from the alert's idempotency key, so a retried alert carries the same
Message-ID and mail clients fold a duplicate. Untrusted text is HTML-escaped in the HTML
part; in headers (the Subject comes from the article title) CR/LF, control and format characters are
removed and RFC 2047 encoded words split, so no header value can decode to a line break (whatever the
interpreter's email package does, CVE-2024-6923), and a message whose headers still hold one is
refused before it is sent. SMTP 4xx replies and
connection failures are retryable; 5xx replies (bad recipient, authentication refused) are not.
When the server accepts some recipients and refuses others, the alert counts as delivered (resending
would duplicate it for the ones who got it) and the refusals are logged.

Settings read: the target's `smtp` (host, port, username, password — a secret —, starttls, ssl,
timeout, ca_file), `sender` and `recipients`.
"""

from __future__ import annotations

import html
import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from alerts.channels.base import Message, scrub
from alerts.channels.deadline import Deadline
from alerts.delivery.digest import Digest, best_evidence, digest_text, story_links, story_meta
from alerts.delivery.messages import (
    EVIDENCE_MAX,
    SENTENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Alert,
    Notice,
    header_text,
    notice_text,
    plain_text,
    safe_url,
    strip_format,
    truncate,
)
from alerts.delivery.models import SmtpSettings, TargetSpec
from alerts.errors import DeliveryError
from crawler.timeutil import now_utc

logger = logging.getLogger(__name__)


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    return "".join(c for c in domain if c.isalnum() or c in ".-") or "newswatch.invalid"


def _e(text: str) -> str:
    return html.escape(strip_format(text))


_ID_CHARS = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


def message_id(key: str, sender: str) -> str:
    """``<key@sender's domain>``, keeping only the characters RFC 5322 allows in a Message-ID's left part."""
    return f"<{_ID_CHARS.sub('', key)[:100] or 'newswatch'}@{_domain(sender)}>"


def html_body(alert: Alert) -> str:
    """The HTML part: every value escaped, links only to http(s) URLs."""
    e = _e
    url = safe_url(alert.url)
    title = e(truncate(alert.title, TITLE_MAX))
    heading = f'<a href="{e(url)}">{title}</a>' if url else title
    meta = " · ".join(e(x) for x in [alert.outlet, alert.published or ""] if x)
    items = "".join(
        f"<li><b>{e(truncate(ev.term, 80))}</b> ({e(hit.name)}): "
        f"{e(truncate(ev.sentence, SENTENCE_MAX))}</li>"
        for hit in alert.watchlists for ev in hit.evidence[:EVIDENCE_MAX]
    )
    others = [o for o in alert.outlets if o != alert.outlet]
    parts = [
        f"<h2>{heading}</h2>",
        f"<p>{meta}</p>",
        f"<p><b>Watchlists:</b> {e(', '.join(alert.watchlist_names))}</p>",
        f"<ul>{items}</ul>" if items else "",
        f"<p>{e(truncate(alert.summary, SUMMARY_MAX))}</p>" if alert.summary else "",
        f"<p>Also reported by {e(', '.join(others))}</p>" if others else "",
        _links_html(alert) if alert.links is not None else "",
    ]
    return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


def _links_html(alert: Alert) -> str:
    """The workbench's links: open the story, and one "not relevant" link per watchlist."""
    assert alert.links is not None
    e = _e
    judge = ", ".join(f'<a href="{e(safe_url(url))}">{e(name)}</a>' for name, url in alert.links.not_relevant)
    return (f'<p><a href="{e(safe_url(alert.links.story))}">Open in newswatch</a>'
            + (f" · Not relevant for: {judge}" if judge else "") + "</p>")


_STYLE = "font-family:Helvetica,Arial,sans-serif;max-width:760px;color:#222"
_MUTED = "color:#666;font-size:90%"


def digest_html(digest: Digest) -> str:
    """The HTML part of a digest: every value escaped, links only to http(s) URLs."""
    e = _e
    sections = digest.sections()
    contents = " · ".join(f'<a href="#w{i}">{e(name)}</a> ({len(stories)})'
                          for i, (name, stories) in enumerate(sections, 1))
    parts = [
        f"<h2>{e(digest.title)}</h2>",
        f'<p style="{_MUTED}">Due {e(digest.local(digest.due_at))} · {e(digest.why)} · held '
        f"{e(digest.local(digest.first_at))} to {e(digest.local(digest.last_at))}</p>",
        f"<p><b>In this digest:</b> {contents}</p>",
    ]
    number = 1
    for i, (watchlist, stories) in enumerate(sections, 1):
        parts.append(f'<h3 id="w{i}" style="border-bottom:1px solid #ddd">{e(watchlist)} ({len(stories)})</h3>')
        items = []
        for story in stories:
            url = safe_url(story.url)
            title = e(truncate(story.title, TITLE_MAX))
            heading = f'<a href="{e(url)}"><b>{title}</b></a>' if url else f"<b>{title}</b>"
            lines = [heading, f'<span style="{_MUTED}">{e(story_meta(story))}</span>']
            others = [n for n in story.watchlist_names if n != watchlist]
            if others:
                lines.append(f'<span style="{_MUTED}">also on {e(", ".join(others))}</span>')
            evidence = best_evidence(story)
            if evidence:
                lines.append(f"<i>{e(evidence)}</i>")
            if story.summary:
                lines.append(e(truncate(story.summary, SUMMARY_MAX // 2)))
            judge = story_links(story, watchlist)
            if judge is not None:
                lines.append(f'<a href="{e(safe_url(judge[0]))}">Open in newswatch</a>'
                             + (f' · <a href="{e(safe_url(judge[1]))}">not relevant</a>' if judge[1] else ""))
            items.append('<li style="margin-bottom:12px">' + "<br>".join(lines) + "</li>")
        parts.append(f'<ol start="{number}">' + "".join(items) + "</ol>")
        number += len(stories)
    return f'<!DOCTYPE html><html><body style="{_STYLE}">' + "".join(parts) + "</body></html>"


def _envelope(key: str, subject: str, target: TargetSpec) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = header_text(subject, 250)
    msg["From"] = header_text(target.sender or "", 200)
    msg["To"] = ", ".join(header_text(r, 200) for r in target.recipients)
    msg["Date"] = format_datetime(now_utc())
    msg["Message-ID"] = message_id(key, target.sender or "")
    return msg


def _multipart(key: str, subject: str, watchlists: str, text: str, html: str, target: TargetSpec) -> EmailMessage:
    msg = _envelope(key, f"[newswatch] {subject} ({watchlists})", target)
    msg["X-Newswatch-Watchlists"] = header_text(watchlists, 200)
    msg.set_content(strip_format(text))
    msg.add_alternative(html, subtype="html")
    return msg


def build_message(alert: Alert, target: TargetSpec) -> EmailMessage:
    """The email for one alert to `target`'s recipients."""
    return _multipart(alert.key, truncate(alert.title, TITLE_MAX), ", ".join(alert.watchlist_names),
                      plain_text(alert), html_body(alert), target)


def build_digest_message(digest: Digest, target: TargetSpec) -> EmailMessage:
    """The email for one digest to `target`'s recipients."""
    return _multipart(digest.key, digest.title, ", ".join(digest.watchlist_names), digest_text(digest),
                      digest_html(digest), target)


def build_notice_message(notice: Notice, target: TargetSpec) -> EmailMessage:
    """The email for one operations notice to `target`'s recipients."""
    msg = _envelope(notice.key, f"[newswatch] {notice.subject}", target)
    text = notice_text(notice)
    msg.set_content(f"{text}\n\n-- \nnewswatch operations notice ({strip_format(notice.notice_key)})")
    msg.add_alternative(
        f'<!DOCTYPE html><html><body style="{_STYLE}"><h2>{html.escape(truncate(notice.subject, TITLE_MAX))}</h2>'
        f'<pre style="white-space:pre-wrap;font-family:inherit">{html.escape(text)}</pre>'
        f'<p style="{_MUTED}">newswatch operations notice</p></body></html>', subtype="html")
    return msg


def _fail(target: TargetSpec, text: str, code: int | None, retryable: bool) -> DeliveryError:
    return DeliveryError(scrub(text, target), channel=target.name, status=code, retryable=retryable)


def tls_context(target: TargetSpec, smtp: SmtpSettings) -> ssl.SSLContext:
    """A client TLS context that verifies the server: system CAs, or only those in `smtp.ca_file`.

    Raises:
        DeliveryError: `ca_file` cannot be read as PEM certificates (not retryable).
    """
    try:
        return ssl.create_default_context(cafile=smtp.ca_file) if smtp.ca_file else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
        raise _fail(target, f"smtp.ca_file {smtp.ca_file} cannot be read as PEM certificates ({reason}); "
                    "give the path of the CA certificate that signed the server's certificate", None,
                    False) from None


def _tls_failure(target: TargetSpec, smtp: SmtpSettings, exc: ssl.SSLError) -> DeliveryError:
    where = f"{smtp.host}:{smtp.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        trusted = f"the CA in smtp.ca_file {smtp.ca_file}" if smtp.ca_file else "the system's CA store"
        fix = ("set smtp.ca_file to the right CA certificate" if smtp.ca_file else
               "if the server uses a private CA or a self-signed certificate, set smtp.ca_file to it")
        return _fail(target, f"the TLS certificate of {where} is not trusted by {trusted} "
                     f"({exc.verify_message or exc.reason}): {fix}, or fix the server's certificate "
                     f"(expired, or not issued for {smtp.host})", None, False)
    return _fail(target, f"TLS handshake with {where} failed ({exc.reason or type(exc).__name__}): check port, "
                 "ssl (implicit TLS, usually port 465) and starttls (usually port 587)", None, False)


def _check_headers(msg: EmailMessage, target: TargetSpec) -> None:
    """Refuse a message any of whose header values (decoded) holds a line break: a header injection."""
    for name, value in msg.items():
        if "\r" in str(value) or "\n" in str(value):
            raise DeliveryError(f"header {name} would hold a line break; the message was not sent",
                                channel=target.name, retryable=False)


def send_email(msg: EmailMessage, target: TargetSpec) -> None:
    """Send `msg` through the target's SMTP server.

    Raises:
        DeliveryError: classified as described in the module docstring.
    """
    smtp = target.smtp
    if smtp is None or not target.sender or not target.recipients:
        raise DeliveryError("smtp, from and to must be set", channel=target.name, retryable=False)
    _check_headers(msg, target)
    context = tls_context(target, smtp) if smtp.ssl or smtp.starttls else None
    client = (smtplib.SMTP_SSL(timeout=smtp.timeout, context=context) if smtp.ssl
              else smtplib.SMTP(timeout=smtp.timeout))
    client._host = smtp.host  # type: ignore[attr-defined]  # the TLS server name; connect() does not set it
    with Deadline(smtp.timeout) as deadline:
        deadline.watch(lambda: getattr(client, "sock", None))
        try:
            _session(client, msg, target, smtp, context)
        except DeliveryError:
            if deadline.expired:  # the watchdog cut the session: whatever broke, it was the clock
                raise _fail(target, f"{smtp.host}:{smtp.port} did not complete the exchange within "
                            f"{smtp.timeout:g} s", None, True) from None
            raise


def _session(client: smtplib.SMTP, msg: EmailMessage, target: TargetSpec, smtp: SmtpSettings,
             context: ssl.SSLContext | None) -> None:
    """One SMTP session: connect, TLS, login, send; failures classified as in the module docstring."""
    try:
        client.connect(smtp.host, smtp.port)
        with client:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            refused = client.send_message(msg, from_addr=target.sender, to_addrs=list(target.recipients))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        temporary = all(400 <= c < 500 for c in codes)
        raise _fail(target, f"all recipients refused (SMTP {codes})", codes[0] if codes else None,
                    temporary) from None
    except smtplib.SMTPNotSupportedError:
        raise _fail(target, "the server does not support STARTTLS or AUTH as configured", None,
                    False) from None
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        raise _fail(target, f"SMTP {exc.smtp_code} {' '.join(reply.split())[:120]}", exc.smtp_code,
                    400 <= exc.smtp_code < 500) from None
    except ssl.SSLError as exc:
        raise _tls_failure(target, smtp, exc) from None
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts
        raise _fail(target, f"connection to {smtp.host}:{smtp.port} failed ({type(exc).__name__})",
                    None, True) from None
    if refused:
        logger.warning("email: target %s: %d recipients refused, the others got the alert",
                       target.name, len(refused))


class EmailChannel:
    """Sends alerts, digests and notices as multipart emails."""

    kind = "email"

    def send(self, message: Message, target: TargetSpec) -> None:
        """Send one message; raises DeliveryError unless the server accepted it."""
        if isinstance(message, Digest):
            msg = build_digest_message(message, target)
        elif isinstance(message, Notice):
            msg = build_notice_message(message, target)
        else:
            msg = build_message(message, target)
        send_email(msg, target)
        logger.debug("email: message %s sent to target %s", message.key, target.name)
