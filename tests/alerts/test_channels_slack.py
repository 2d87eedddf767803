"""Slack channel against a loopback receiver: Block Kit content, one message per story, injection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import TargetSpec
from alerts.delivery.worker import deliver_due
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.alerts.test_slack_blocks import validate
from tests.conftest import SEED, need

ROUTES = {"maritime-disputes": ["slack"], "arms-deals": ["slack"]}


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def slack(receiver) -> dict[str, TargetSpec]:
    return {"slack": TargetSpec(name="slack", kind="slack", url=receiver.url("/services/T1/B2/XyZ"))}


def all_text(payload: dict) -> str:
    parts = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


def test_seed_story_is_one_message_naming_both_watchlists(db, receiver):
    seed = need(SEED).read_text(encoding="utf-8")
    title = "Amid China worries, Japan-Vietnam sign defence export deal"
    add_article(db, "https://www.scmp.com/news/asia/article/3148323", title, seed, source="scmp",
                summary="Accord enables defence equipment exports.")
    add_article(db, "https://calm.example/cats", "Cat show draws record crowd", "Cats were admired all day.")
    report = process_new_articles(db, keyword_match, ROUTES, now=T0)
    assert (report.articles, report.matched, report.alerts_enqueued) == (2, 1, 1)
    assert deliver_due(db, slack(receiver), now=T0).delivered == 1
    (request,) = receiver.received
    assert request.headers["content-type"].startswith("application/json")
    payload = json.loads(request.body)
    validate(payload)
    text = all_text(payload)
    assert "maritime-disputes" in text and "arms-deals" in text
    assert "<https://www.scmp.com/news/asia/article/3148323|Amid China worries, Japan-Vietnam sign defence " \
           "export deal>" in payload["blocks"][0]["text"]["text"]
    assert "scmp" in text and "2024-06-01T07:00:00+00:00" in text
    assert "south china sea" in text  # the evidence term …
    assert "defence equipment" in text
    assert "Amid China worries" in payload["text"]  # … and a plain fallback for notifications
    # A second run finds nothing new to send.
    assert process_new_articles(db, keyword_match, ROUTES, now=T0).alerts_enqueued == 0
    assert deliver_due(db, slack(receiver), now=T0).attempted == 0
    assert len(receiver.received) == 1


def test_mrkdwn_control_sequences_in_articles_are_inert(db, receiver):
    add_article(db, "https://evil.example/a?x=1|<!here>",
                "<!channel> coast guard <@U0123ABC> clash <https://phish.example|click here> & @here",
                "The coast guard said <!everyone> near the shoal.")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=T0)
    deliver_due(db, slack(receiver), now=T0)
    payload = json.loads(receiver.received[0].body)
    validate(payload)
    text = all_text(payload)
    for live in ("<!channel>", "<!here>", "<!everyone>", "<@U0123ABC>", "<https://phish.example|"):
        assert live not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U0123ABC&gt;" in text and "&amp;" in text
    assert "@here" not in text  # a bare broadcast is broken up with a word joiner
    # The only link is ours, to the article, with the URL's special characters encoded.
    heading = payload["blocks"][0]["text"]["text"]
    assert heading.startswith("*<https://evil.example/a?x=1%7C%3C!here%3E|")


def test_long_text_is_capped_within_slack_limits(db, receiver):
    add_article(db, "https://news.example/long", "Coast guard " + "very " * 400 + "long title",
                "The coast guard said so. " + "word " * 5000)
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=T0)
    assert deliver_due(db, slack(receiver), now=T0).delivered == 1
    payload = json.loads(receiver.received[0].body)
    validate(payload)
    assert all(len(b["text"]["text"]) <= 3000 for b in payload["blocks"] if "text" in b)
    assert len(payload["blocks"][0]["text"]["text"]) < 400
