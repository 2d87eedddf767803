"""The lab, the outbox's retry button and a judge link from a Slack message, in a real browser: the
system's headless Chromium driven by Playwright (skipped with the reason when either is missing)."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from alerts import compile_matcher, deliver_due, process_new_articles
from scheduler.config import load_config
from scheduler.schema import open_store
from tests.loopback import WebhookReceiver
from tests.scheduler.web.labkit import EDITED_RULE, edited_maritime, fill, served, story_of, write_config
from tests.scheduler.web.test_browser import browser, page  # noqa: F401 -- the shared Chromium fixtures
from tests.scheduler.web.workbench import T0, add


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_edit_a_watchlist_preview_what_changes_then_save(tmp_path: Path, page: Any) -> None:  # noqa: F811
    config_path = write_config(tmp_path / "config.yaml")
    ids = fill(config_path)
    with served(tmp_path / "nw.db", config_path) as base:
        page.goto(f"{base}/stories")
        page.get_by_role("link", name="Lab", exact=True).click()
        page.wait_for_url(f"{base}/lab")  # before looking for "maritime": the story list has such links too
        page.get_by_role("link", name="maritime", exact=True).click()
        page.wait_for_url(f"{base}/lab/maritime")
        editor = page.locator("textarea#yaml")
        assert "# the places we watch" in editor.input_value()
        editor.fill(edited_maritime(config_path))
        page.get_by_role("button", name="Preview").click()
        newly = page.locator("#newly-flagged")
        newly.get_by_role("heading", name="Newly flagged (2)").wait_for()
        frigate = newly.locator(".change", has_text="Navy frigate shadows Chinese ships off Scarborough")
        assert frigate.locator("mark").all_inner_texts() == ["Scarborough Shoal", "Scarborough Shoal"]
        assert "judged relevant" in frigate.inner_text()
        assert page.locator("#no-longer-flagged .change").count() == 1
        assert page.locator("table.scores tr", has_text="After the edit").inner_text().split("\t")[1:3] == [
            "1.00", "1.00"]
        assert "Scarborough" not in config_path.read_text(encoding="utf-8")
        # The editor keeps the edit after a preview; save it.
        page.get_by_role("button", name="Save to config.yaml").click()
        page.get_by_text("Saved to").wait_for()
        frigate_link = page.locator("#newly-flagged a", has_text="Navy frigate")
        assert frigate_link.count() == 0  # a fresh page after the save
        text = config_path.read_text(encoding="utf-8")
        assert EDITED_RULE in text.splitlines() and "# newswatch test configuration" in text
        assert "# lifeguard stories are not incidents" in page.locator("textarea#yaml").input_value()
        page.goto(f"{base}/stories/{ids['frigate']}")
        assert page.locator("h1.story-title").inner_text() == "Navy frigate shadows Chinese ships off Scarborough"


def test_the_retry_button_in_the_browser(tmp_path: Path, page: Any) -> None:  # noqa: F811
    with WebhookReceiver() as hook:
        config_path = write_config(tmp_path / "config.yaml", hook.url("/h"))
        config = load_config(config_path)
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes(), now=T0)
        hook.script([410])
        assert deliver_due(db, config.targets).dead == 1
        with served(tmp_path / "nw.db", config_path) as base:
            page.goto(f"{base}/outbox?status=dead")
            assert page.locator('tr[data-status="dead"]').count() == 1
            page.get_by_role("button", name="Retry 1 dead").click()
            page.get_by_text("1 dead-lettered message(s) of hook queued again.").wait_for()
            assert page.locator('#targets tr[data-target="hook"] td').nth(3).inner_text() == "0"
        assert _rows(tmp_path / "nw.db", "SELECT status, attempts FROM outbox") == [("pending", 0)]


def test_a_not_relevant_link_from_slack_takes_one_click(tmp_path: Path, page: Any) -> None:  # noqa: F811
    database = tmp_path / "nw.db"
    with WebhookReceiver() as slack, served(database, None) as base:
        config_path = tmp_path / "config.yaml"
        config_path.write_text(
            f"database: nw.db\nweb: {{public_url: '{base}'}}\n"
            f"targets:\n  - {{name: slack, kind: slack, url: '{slack.url('/s')}'}}\n"
            "watchlists:\n  - {name: maritime, targets: [slack], rules: [{name: places, any: ['coast guard']}]}\n",
            encoding="utf-8")
        config = load_config(config_path)
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes())
        deliver_due(db, config.targets)
        story = story_of(db, "https://rappler.example/shoal")
        text = json.loads(slack.received[0].body)["blocks"][-1]["elements"][0]["text"]
        link = html.unescape(re.search(r"<([^|>]+)\|maritime>", text).group(1))
        page.goto(link)
        assert _rows(database, "SELECT * FROM judgements") == []
        page.get_by_role("button", name="Not relevant for maritime").click()
        page.get_by_text("Judgement saved.").wait_for()
        assert page.url == f"{base}/stories/{story}?done=judged"
        assert page.dialogs == []  # no confirmation box: the page itself was the question
        assert _rows(database, "SELECT story_id, watchlist, relevant, who FROM judgements") == [
            (story, "maritime", 0, "local")]
