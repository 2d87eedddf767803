"""Email as the SMTP server receives it: no header injection through RFC 2047 encoded words, no
parser defects, a Message-ID that survives `test-alert`, no bidi or zero-width characters.

The SMTP sink keeps the raw bytes of each message, parsed with `email.policy.default` (`SMTPSink.parsed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import SmtpSettings, TargetSpec
from alerts.delivery.outbox import enqueue_notice
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.alerts.test_digests import MORNING, NIGHT, TOKYO_NIGHT
from tests.loopback import SMTPSink

RECIPIENTS = ("analyst@example.org", "desk@example.org")
SPOOF = "\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u2060\ufeff"


@pytest.fixture
def sink() -> Iterator[SMTPSink]:
    with SMTPSink() as server:
        yield server


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def target(sink: SMTPSink) -> TargetSpec:
    return TargetSpec(name="mail", kind="email", smtp=SmtpSettings(host="127.0.0.1", port=sink.port, starttls=False,
                      timeout=5.0), sender="newswatch@alerts.example", recipients=RECIPIENTS)


def assert_no_defects(message: EmailMessage) -> None:
    for part in message.walk():
        assert part.defects == [], (part.get_content_type(), part.defects)
        for name, value in part.items():
            assert getattr(value, "defects", ()) == (), (name, value.defects)  # type: ignore[attr-defined]


def body_text(message: EmailMessage) -> str:
    plain = message.get_body(("plain",))
    assert plain is not None
    return str(plain.get_content())


def test_encoded_word_in_a_title_injects_no_header_and_keeps_the_body(db, sink):
    title = ("Coast guard clash =?utf-8?q?=0D=0ABcc:_victim@example.net=0D=0AReply-To:_x@evil.example"
             "=0D=0A=0D=0Apwned?= at the shoal")
    add_article(db, "https://news.example/clash", title, "Coast guard ships met at the shoal.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"]}, now=T0)
    assert deliver_due(db, {"mail": target(sink)}, now=T0).delivered == 1
    ((_sender, rcpt_tos),) = sink.envelopes
    (raw,) = sink.raw
    assert rcpt_tos == list(RECIPIENTS)
    (message,) = sink.parsed()
    assert message["Bcc"] is None and message["Reply-To"] is None
    assert b"\nBcc:" not in raw and b"\nReply-To:" not in raw
    assert message.get_all("To") == [", ".join(RECIPIENTS)]
    assert "Coast guard clash" in message["Subject"] and "at the shoal" in message["Subject"]
    assert "Coast guard ships met at the shoal." in body_text(message)
    assert body_text(message).startswith("Coast guard clash =")  # the title, as literal text
    assert_no_defects(message)


def test_test_alert_has_a_whole_message_id_and_parses_without_defects(sink):
    send_test_alert(target(sink))
    (message,) = sink.parsed()
    assert_no_defects(message)
    message_id = str(message["Message-ID"])
    assert message_id.startswith("<nw-") and message_id.endswith("@alerts.example>")
    assert len(message_id) == len("<nw-@alerts.example>") + 32


def test_bidi_and_zero_width_characters_reach_no_part_of_the_email(db, sink):
    add_article(db, "https://news.example/spoof", f"Coast guard {SPOOF}clash at the shoal",
                f"Coast guard ships{SPOOF} met at the shoal.", source=f"evil{SPOOF}outlet")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"]}, now=T0)
    assert deliver_due(db, {"mail": target(sink)}, now=T0).delivered == 1
    (message,) = sink.parsed()
    assert_no_defects(message)
    seen = [str(message["Subject"])] + [str(part.get_content()) for part in message.walk()
                                         if not part.is_multipart()]
    for text in seen:
        assert not set(text) & set(SPOOF), text
    assert "Coast guard clash at the shoal" in str(message["Subject"])
    assert "eviloutlet" in body_text(message)


def test_digest_and_notice_emails_parse_without_defects(db, sink):
    for n in range(8):
        add_article(db, f"https://news.example/{n}?a=1&b=2", f"Coast guard report {n} =?utf-8?q?=0D=0AX:_1?= & <b>",
                    f"Coast guard ships met at the shoal on day {n} {SPOOF}.")
    spec = TargetSpec(name="mail", kind="email", smtp=target(sink).smtp, sender="newswatch@alerts.example",
                      recipients=RECIPIENTS, quiet_hours=TOKYO_NIGHT)
    process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"]}, now=NIGHT)
    deliver_due(db, {"mail": spec}, now=NIGHT)
    enqueue_notice(db, ["mail"], key="source-failing:x", subject="Source x =?utf-8?q?=0D=0ABcc:_a@b.c?= fails",
                   text="Line one.\nLine two\u202e.", now=MORNING)
    assert deliver_due(db, {"mail": spec}, now=MORNING).delivered == 2
    digest, notice = sink.parsed()
    for message in (digest, notice):
        assert_no_defects(message)
        assert message["Bcc"] is None and message["X"] is None
    assert "Held during quiet hours" in str(digest["Subject"])
    assert "Line one.\r\nLine two.\r\n" in body_text(notice)
    assert [rcpt for _, rcpt in sink.envelopes] == [list(RECIPIENTS)] * 2
