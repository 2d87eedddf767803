"""Email channel: one multipart (text + HTML) message per alert over SMTP.

Plain SMTP, STARTTLS or implicit TLS (`SmtpSettings.ssl`) with optional AUTH, a timeout on every
connection. The Message-ID is derived from the alert's idempotency key, so a retried alert carries
the same Message-ID and mail clients fold a duplicate. Untrusted text is HTML-escaped in the HTML
part and stripped of CR/LF in headers (the Subject comes from the article title). SMTP 4xx replies and
connection failures are retryable; 5xx replies (bad recipient, authentication refused) are not.
When the server accepts some recipients and refuses others, the alert counts as delivered (resending
would duplicate it for the ones who got it) and the refusals are logged.

Settings read: the target's `smtp` (host, port, username, password — a secret —, starttls, ssl,
timeout), `sender` and `recipients`.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from alerts.channels.base import scrub
from alerts.errors import DeliveryError
from alerts.models import TargetSpec
from alerts.render import (
    EVIDENCE_MAX,
    SENTENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Alert,
    header_text,
    plain_text,
    safe_url,
    truncate,
)
from alerts.store import now_utc

logger = logging.getLogger(__name__)


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    return "".join(c for c in domain if c.isalnum() or c in ".-") or "newswatch.invalid"


def html_body(alert: Alert) -> str:
    """The HTML part: every value escaped, links only to http(s) URLs."""
    e = html.escape
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
    ]
    return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


def build_message(alert: Alert, target: TargetSpec) -> EmailMessage:
    """The email for one alert to `target`'s recipients."""
    msg = EmailMessage()
    names = ", ".join(alert.watchlist_names)
    msg["Subject"] = header_text(f"[newswatch] {truncate(alert.title, TITLE_MAX)} ({names})", 250)
    msg["From"] = header_text(target.sender or "", 200)
    msg["To"] = ", ".join(header_text(r, 200) for r in target.recipients)
    msg["Date"] = format_datetime(now_utc())
    msg["Message-ID"] = f"<{header_text(alert.key, 100)}@{_domain(target.sender or '')}>"
    msg["X-Newswatch-Watchlists"] = header_text(names, 200)
    msg.set_content(plain_text(alert))
    msg.add_alternative(html_body(alert), subtype="html")
    return msg


def _fail(target: TargetSpec, text: str, code: int | None, retryable: bool) -> DeliveryError:
    return DeliveryError(scrub(text, target), channel=target.name, status=code, retryable=retryable)


def send_email(msg: EmailMessage, target: TargetSpec) -> None:
    """Send `msg` through the target's SMTP server.

    Raises:
        DeliveryError: classified as described in the module docstring.
    """
    smtp = target.smtp
    if smtp is None or not target.sender or not target.recipients:
        raise DeliveryError("smtp, from and to must be set", channel=target.name, retryable=False)
    client_class = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
    try:
        with client_class(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=ssl.create_default_context())
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
        raise _fail(target, f"TLS failed ({type(exc).__name__})", None, False) from None
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts
        raise _fail(target, f"connection to {smtp.host}:{smtp.port} failed ({type(exc).__name__})",
                    None, True) from None
    if refused:
        logger.warning("email: target %s: %d recipients refused, the others got the alert",
                       target.name, len(refused))


class EmailChannel:
    """Sends alerts as multipart emails."""

    kind = "email"

    def send(self, alert: Alert, target: TargetSpec) -> None:
        """Send one alert; raises DeliveryError unless the server accepted it."""
        send_email(build_message(alert, target), target)
        logger.debug("email: story %d sent to target %s", alert.story_id, target.name)
