"""Slack messages as Slack sees them: valid Block Kit (checked with slack_sdk's models), within
Slack's message limits, with article text that can neither format, link, spoof nor break the markup;
and an incoming webhook's non-``ok`` answer counted as a failure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlite_utils

from alerts.channels.slack import slack_payload
from alerts.delivery.messages import Alert, WatchlistHit
from alerts.delivery.models import TargetSpec
from alerts.delivery.outbox import outbox_summary
from alerts.delivery.worker import deliver_due
from alerts.match.models import Evidence
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match, story_text
from tests.alerts.test_digests import MORNING, NIGHT, TOKYO_NIGHT
from tests.conftest import SEED, need
from tests.loopback import Response

SPOOF = "\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u2060\ufeff"
_BAD_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def texts(payload: dict) -> list[str]:
    found = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if "text" in e]
    return found


def validate(payload: dict) -> None:
    """What Slack checks: Block Kit models, 50 blocks, 3000 characters a section, 150 a header;
    and what a reader sees: no half entity, every `<` link closed."""
    from slack_sdk.models.blocks import Block

    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= 50
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        if raw["type"] == "section":
            assert len(raw["text"]["text"]) <= 3000
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150
    assert 0 < len(payload["text"]) <= 40000
    for text in texts(payload):
        assert not _BAD_ENTITY.search(text), text
        assert text.count("<") == text.count(">"), text
        assert not re.search(r"<[^>]*$", text), text


def alert(title: str = "Coast guard standoff", url: str = "https://news.example/a", evidence=(),
          outlet: str = "example", more_evidence=()) -> Alert:
    hits = (WatchlistHit("maritime-disputes", 2.0, ("any",), tuple(evidence)),)
    if more_evidence:
        hits += (WatchlistHit("arms-deals", 1.0, ("any",), tuple(more_evidence)),)
    return Alert(key="nw-" + "0" * 32, story_id=1, target="slack", created_at="2024-06-01T08:00:00+00:00",
                 title=title, url=url, outlet=outlet, published="2024-06-01T07:00:00+00:00",
                 summary="A summary.", watchlists=hits)


def ev(term: str, sentence: str) -> Evidence:
    return Evidence("any", term, None, "body", sentence, 1.0)  # type: ignore[arg-type]


def slack(receiver) -> dict[str, TargetSpec]:
    return {"slack": TargetSpec(name="slack", kind="slack", url=receiver.url("/services/T1/B2/XyZ"))}


def test_a_long_url_never_leaves_a_link_open():
    url = "https://news.example/story?" + "&".join(f"p{i}=v{i}" for i in range(400))
    payload = slack_payload(alert(url=url))
    validate(payload)
    assert "Coast guard standoff" in payload["blocks"][0]["text"]["text"]


def test_ampersands_in_link_urls_are_escaped():
    payload = slack_payload(alert(url="https://news.example/a?x=1&y=2"))
    validate(payload)
    assert payload["blocks"][0]["text"]["text"] == "*<https://news.example/a?x=1&amp;y=2|Coast guard standoff>*"


def test_evidence_full_of_ampersands_is_never_cut_inside_an_entity():
    words = ["R&D", "Q&A", "M&A", "B&B", "P&L", "S&P", "AT&T", "H&M"]
    evidence = [ev(f"term {i}", f"Sentence {i} " + f"{w} " * 70 + ".") for i, w in enumerate(words)]
    payload = slack_payload(alert(evidence=evidence[:4], more_evidence=evidence[4:]))
    validate(payload)
    assert "R&amp;D" in "\n".join(texts(payload))


def test_the_same_evidence_sentence_is_shown_once(db, receiver):
    seed = need(SEED).read_text(encoding="utf-8")
    add_article(db, "https://www.scmp.com/news/asia/article/3148323",
                "Amid China worries, Japan-Vietnam sign defence export deal", seed, source="scmp")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"], "arms-deals": ["slack"]}, now=T0)
    assert deliver_due(db, slack(receiver), now=T0).delivered == 1
    (request,) = receiver.received
    payload = json.loads(request.body)
    validate(payload)
    lines = [line for text in texts(payload) for line in text.split("\n") if line.startswith("• ")]
    sentences = [line.rpartition(" — ")[2] for line in lines]
    assert sentences and len(sentences) == len(set(sentences))
    assert len(request.body) < 6000


def test_article_text_cannot_format_or_break_bold_markup():
    title = "*bold* _it_ ~strike~ `code` ```block```"
    payload = slack_payload(alert(title=title, evidence=[ev("defence export*", "A defence export deal.")]))
    validate(payload)
    heading = payload["blocks"][0]["text"]["text"]
    inner = heading[heading.index("|") + 1: heading.rindex(">")]
    assert not set(inner) & set("*_~`"), inner
    evidence = next(t for t in texts(payload) if t.startswith("• "))
    assert evidence.startswith("• *defence export\u2217* (")


def test_bidi_and_zero_width_characters_are_stripped(db, receiver):
    add_article(db, "https://news.example/spoof", f"Coast guard {SPOOF}clash at the shoal",
                f"Coast guard ships{SPOOF} met at the shoal.", source=f"evil{SPOOF}outlet")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=T0)
    assert deliver_due(db, slack(receiver), now=T0).delivered == 1
    payload = json.loads(receiver.received[0].body)
    validate(payload)
    allowed = {"\u2060"}  # the word joiner newswatch itself puts after a bare @here
    for text in texts(payload):
        assert not (set(text) & set(SPOOF)) - allowed, text
    assert "Coast guard clash at the shoal" in payload["blocks"][0]["text"]["text"]


def test_digest_of_many_stories_is_valid_block_kit(db, receiver):
    for n in range(120):
        title, text = story_text(n)
        add_article(db, f"https://news.example/{n}?a=1&b={n}", title + " & *more*", text)
    spec = TargetSpec(name="slack", kind="slack", url=receiver.url("/services/T1/B2/XyZ"), quiet_hours=TOKYO_NIGHT)
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=NIGHT)
    deliver_due(db, {"slack": spec}, now=NIGHT)
    assert deliver_due(db, {"slack": spec}, now=MORNING).delivered == 1
    validate(json.loads(receiver.received[-1].body))


@pytest.mark.parametrize(("answer", "retryable"), [("invalid_blocks", False), ("channel_not_found", False),
                                                   ("no_text", False), ("internal_error", True)])
def test_an_incoming_webhook_answering_200_without_ok_has_not_posted(db, site, answer, retryable):
    site.route("/services/T1/B2/XyZ", lambda _r: Response(200, answer.encode(), {"Content-Type": "text/plain"}))
    add_article(db, "https://news.example/a", "Coast guard standoff at the shoal", "Coast guard ships met.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=T0)
    report = deliver_due(db, slack(site), now=T0)
    assert (report.delivered, report.failed, report.dead) == (0, int(retryable), int(not retryable))
    error = outbox_summary(db)["slack"]["last_error"]
    assert answer in error and "XyZ" not in error
