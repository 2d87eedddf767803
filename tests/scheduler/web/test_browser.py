"""The workbench in a real browser: the system's headless Chromium driven by Playwright, the app served
by uvicorn on 127.0.0.1 over a store filled by the real matcher and pipeline.

Skipped, with the reason, when /usr/bin/chromium or the playwright package is missing (CI installs
Chromium with apt-get; no browser is ever downloaded).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from crawler.store import open_store
from scheduler.web.settings import WebSettings
from tests.scheduler.web.workbench import BODY, T0, add, fill, process, served

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = "<script>window.__pwned = 1; alert('pwned')</script> Coast guard boards trawler"
HOSTILE_BODY = ("A coast guard crew boarded a fishing trawler off Palawan at dawn. "
                "<img src=x onerror=\"alert('img')\"> Nine fishermen were detained and taken to Puerto Princesa.")

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.accept()))
    yield page
    context.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "nw.db"
    fill(path, extra=[("https://hostile.example/1", HOSTILE, HOSTILE_BODY)]).conn.close()
    return path


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_open_a_story_see_the_evidence_marked_judge_it_and_mute_it(db_file, page):
    with served(db_file) as base:
        page.goto(f"{base}/stories")
        page.get_by_role("link", name="Coast guard fires water cannon near Second Thomas Shoal").click()
        page.wait_for_url(f"{base}/stories/1")
        marks = page.locator("article .text mark")
        assert marks.first.is_visible()
        assert {m.lower() for m in marks.all_inner_texts()} >= {"coast guard", "second thomas shoal",
                                                                 "south china sea"}
        assert page.locator(".verdict", has_text="score 2 / threshold 1").is_visible()
        assert page.get_by_text("Nothing queued").count() == 0  # the alert to hook is listed
        page.locator("form.judge", has_text="maritime").get_by_role("button", name="Relevant", exact=True).click()
        page.get_by_text("Judgement saved.").wait_for()
        assert _rows(db_file, "SELECT story_id, watchlist, relevant, who FROM judgements") == [
            (1, "maritime", 1, "local")]
        page.get_by_role("button", name="Mute story").click()
        page.get_by_text("Story muted").wait_for()
        assert page.dialogs == ["Mute this story? It will send no further alerts or updates."]
        assert _rows(db_file, "SELECT story_id, who FROM mutes") == [(1, "local")]
    # Another outlet joins the muted story, and its copy also names a frigate (the arms watchlist):
    # unmuted, that would queue a new alert for (story, arms, hook).
    db = open_store(db_file)
    add(db, "https://inquirer.example/9", "Coast guard fires water cannon near Second Thomas Shoal",
        BODY + " A frigate stood by.", source="inquirer")
    report = process(db, T0 + timedelta(minutes=10))
    assert (report.stories_joined, report.silenced, report.alerts_enqueued, report.updates_queued) == (1, 1, 0, 0)
    assert db.execute("SELECT kind, status FROM outbox WHERE story_id = 1").fetchall() == [("alert", "muted")]
    assert db.execute("SELECT outlets FROM stories WHERE id = 1").fetchone() == ('["rappler", "inquirer"]',)


def test_a_hostile_script_in_a_title_is_shown_as_text(db_file, page):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    hostile_id = _rows(db_file, "SELECT id FROM stories WHERE title LIKE '<script>%'")[0][0]
    with served(db_file) as base:
        page.goto(f"{base}/stories")
        page.get_by_text(HOSTILE).first.wait_for()
        page.goto(f"{base}/stories/{hostile_id}")
        assert page.locator("h1.story-title").inner_text() == HOSTILE
        assert "onerror=" in page.locator("article .text").inner_text()
        assert page.locator("img").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("script").count() == 1  # ours, /static/app.js
    assert page.dialogs == []
    assert not any("pwned" in text for text in messages)


def test_reading_works_with_javascript_off(db_file, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        with served(db_file) as base:
            page.goto(f"{base}/stories?watchlist=maritime")
            page.get_by_role("link", name="Coast guard fires water cannon near Second Thomas Shoal").click()
            assert page.locator("article .text mark").first.is_visible()
            assert page.locator(".verdict h3", has_text="maritime").is_visible()
    finally:
        context.close()


def test_the_atom_feed_from_the_feeds_page_parses_with_the_right_entries(db_file, page):
    with served(db_file) as base:
        page.goto(f"{base}/feeds")
        href = page.get_by_role("link", name="/feeds/arms.atom?token=").get_attribute("href")
        response = page.request.get(href)
        assert response.status == 200
        feed = feedparser.parse(response.body())
        assert not feed.bozo and feed.feed.title == "newswatch: arms"
        assert [e.title for e in feed.entries] == ["Navy orders a new frigate in an arms sale"]
        assert "frigate" in feed.entries[0].summary and "defnews" in feed.entries[0].summary
        assert page.request.get(href.split("?")[0]).status == 403


def test_a_wrong_password_is_refused(db_file, browser):
    context = browser.new_context(http_credentials={"username": "ana", "password": "not it"})
    try:
        page = context.new_page()
        with served(db_file, WebSettings(password="the right one")) as base:
            response = page.goto(f"{base}/stories")
            assert response is not None and response.status == 401
            assert "the right one" not in page.content()
    finally:
        context.close()
    context = browser.new_context(http_credentials={"username": "ana", "password": "the right one"})
    try:
        page = context.new_page()
        with served(db_file, WebSettings(password="the right one")) as base:
            response = page.goto(f"{base}/stories")
            assert response is not None and response.status == 200
            assert page.locator("header .who").inner_text() == "ana"
    finally:
        context.close()
