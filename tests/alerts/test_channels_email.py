"""Email channel against a real aiosmtpd server: multipart content, headers, injection, auth."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import SmtpSettings, TargetSpec
from alerts.delivery.outbox import outbox_summary
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.errors import DeliveryError
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.loopback import AuthSMTPSink


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def mail_target(sink, **smtp) -> TargetSpec:
    settings = SmtpSettings(host=sink.host, port=sink.port, starttls=False, timeout=5.0, **smtp)
    return TargetSpec(name="mail", kind="email", smtp=settings, sender="newswatch@alerts.example",
                      recipients=("analyst@example.org", "desk@example.org"))


def parts(message) -> dict[str, str]:
    return {p.get_content_type(): p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
            for p in message.walk() if not p.is_multipart()}


def test_alert_is_a_multipart_email_with_both_watchlists(db, smtp_sink):
    add_article(db, "https://news.example/deal", "Japan frigate sale to the Philippines",
                "Japan agreed a frigate sale. Coast guard patrols in the South China Sea continue.",
                source="japantoday")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"], "arms-deals": ["mail"]}, now=T0)
    assert deliver_due(db, {"mail": mail_target(smtp_sink)}, now=T0).delivered == 1
    (message,) = smtp_sink.messages
    assert smtp_sink.envelopes[0] == ("newswatch@alerts.example", ["analyst@example.org", "desk@example.org"])
    assert message["Subject"].startswith("[newswatch] Japan frigate sale to the Philippines")
    assert "arms-deals" in message["Subject"] and "maritime-disputes" in message["Subject"]
    assert message["Message-ID"].endswith("@alerts.example>")
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert "https://news.example/deal" in body["text/plain"]
    assert '<a href="https://news.example/deal">' in body["text/html"]
    assert "frigate" in body["text/html"] and "south china sea" in body["text/html"]


def test_header_and_html_injection_are_neutralised(db, smtp_sink):
    add_article(db, "javascript:alert(1)",
                "Coast guard clash\r\nBcc: victim@example.net\r\nX-Evil: 1 <script>alert(1)</script>",
                "The coast guard <script>steal()</script> said <img src=x onerror=alert(1)>.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"]}, now=T0)
    assert deliver_due(db, {"mail": mail_target(smtp_sink)}, now=T0).delivered == 1
    (message,) = smtp_sink.messages
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert smtp_sink.envelopes[0][1] == ["analyst@example.org", "desk@example.org"]
    assert "\n" not in message["Subject"].replace("\n ", "")  # folded lines only
    html = parts(message)["text/html"]
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html  # no link to a non-http URL


def test_retry_reuses_the_message_id(db, smtp_sink):
    add_article(db, "https://news.example/s", "Shoal standoff", "Coast guard ships at the shoal.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"]}, now=T0)
    down = TargetSpec(name="mail", kind="email", smtp=SmtpSettings(host="127.0.0.1", port=9, starttls=False,
                      timeout=2.0), sender="newswatch@alerts.example", recipients=("a@example.org",))
    assert deliver_due(db, {"mail": down}, now=T0).failed == 1
    assert "connection to 127.0.0.1:9 failed" in outbox_summary(db)["mail"]["last_error"]
    assert deliver_due(db, {"mail": mail_target(smtp_sink)}, now=T0.replace(hour=12)).delivered == 1
    key = db.execute("SELECT idempotency_key FROM outbox").fetchone()[0]
    assert smtp_sink.messages[0]["Message-ID"] == f"<{key}@alerts.example>"


def test_smtp_auth_works_and_a_wrong_password_is_dead_not_leaked(caplog):
    with AuthSMTPSink("newswatch", "pa55-w0rd-xyz") as sink:
        send_test_alert(mail_target(sink, username="newswatch", password="pa55-w0rd-xyz"))
        assert sink.logins == ["newswatch"] and len(sink.messages) == 1
        with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as excinfo:
            send_test_alert(mail_target(sink, username="newswatch", password="wrong-pa55-abc"))
    assert excinfo.value.status == 535 and excinfo.value.retryable is False
    assert "pa55" not in str(excinfo.value) and "pa55" not in caplog.text
