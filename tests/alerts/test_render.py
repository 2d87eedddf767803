"""Escaping of untrusted article text for Slack, email headers and URLs, and length caps."""

from __future__ import annotations

import pytest

from alerts.delivery.messages import header_text, plain_text, safe_url, sample_alert, slack_text, truncate


@pytest.mark.parametrize(("raw", "shown"), [
    ("<!channel> alert", "&lt;!channel&gt; alert"),
    ("hi <@U012AB3CD>", "hi &lt;@U012AB3CD&gt;"),
    ("<https://evil.example|Reuters>", "&lt;https://evil.example|Reuters&gt;"),
    ("AT&T", "AT&amp;T"),
    ("<!subteam^S123>", "&lt;!subteam^S123&gt;"),
])
def test_slack_control_sequences_are_escaped(raw, shown):
    assert slack_text(raw) == shown


def test_bare_broadcasts_are_broken_up():
    text = slack_text("ping @here and @Channel and @everyone")
    assert "@here" not in text and "@Channel" not in text and "@everyone" not in text
    assert text.replace("\u2060", "") == "ping @here and @Channel and @everyone"


def test_header_text_strips_line_breaks_and_controls():
    assert header_text("Title\r\nBcc: x@example.org\x00\u2028end") == "Title Bcc: x@example.org end"
    assert len(header_text("x" * 1000, 200)) == 200


@pytest.mark.parametrize(("url", "safe"), [
    ("https://news.example/a?b=1", "https://news.example/a?b=1"),
    ("javascript:alert(1)", ""),
    ("data:text/html,<script>", ""),
    ("https://news.example/a|<b>", "https://news.example/a%7C%3Cb%3E"),
    ("https://news.example/x\r\ny", "https://news.example/xy"),
])
def test_only_http_links_survive(url, safe):
    assert safe_url(url) == safe


def test_truncate_cuts_at_a_word_with_an_ellipsis():
    cut = truncate("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…") and "wor…" not in cut


def test_plain_text_names_watchlists_and_evidence():
    text = plain_text(sample_alert("slack"))
    assert "Watchlists: test" in text and "This is a test alert" in text
