"""The workbench over plain HTTP (a real uvicorn server on 127.0.0.1): CSRF, feed tokens, passwords,
headers, the Atom feed and keyset paging."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
import requests

from scheduler.config import load_config
from scheduler.errors import ConfigError
from scheduler.web.app import create_app
from scheduler.web.settings import WebSettings
from tests.scheduler.web.workbench import fill, served

TOKEN = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "nw.db"
    fill(path).conn.close()
    return path


def _story_form(session: requests.Session, base: str) -> str:
    page = session.get(f"{base}/stories/1", timeout=30)
    assert page.status_code == 200
    match = TOKEN.search(page.text)
    assert match, "the story page has no CSRF field"
    return match.group(1)


def _labels(path: Path) -> list[tuple[int, str, int]]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT story_id, watchlist, relevant FROM judgements").fetchall()


def test_a_form_without_its_csrf_token_is_refused_and_with_it_is_stored(db_file):
    with served(db_file) as base:
        session = requests.Session()
        token = _story_form(session, base)
        form = {"watchlist": "maritime", "verdict": "relevant"}
        bare = session.post(f"{base}/stories/1/judge", data=form, timeout=30, allow_redirects=False)
        wrong = session.post(f"{base}/stories/1/judge", data={**form, "csrf": "0" * 64}, timeout=30,
                             allow_redirects=False)
        # A token without its cookie (another browser, or a forged page) is refused too.
        stranger = requests.post(f"{base}/stories/1/judge", data={**form, "csrf": token}, timeout=30,
                                 allow_redirects=False)
        foreign = session.post(f"{base}/stories/1/judge", data={**form, "csrf": token}, timeout=30,
                               allow_redirects=False, headers={"Origin": "https://evil.example"})
        assert [r.status_code for r in (bare, wrong, stranger, foreign)] == [403, 403, 403, 403]
        assert _labels(db_file) == []
        good = session.post(f"{base}/stories/1/judge", data={**form, "csrf": token}, timeout=30,
                            allow_redirects=False)
        assert good.status_code == 303 and good.headers["location"] == "/stories/1?done=judged"
        assert _labels(db_file) == [(1, "maritime", 1)]


def test_a_feed_needs_its_own_token_and_parses_as_atom(db_file):
    with served(db_file) as base:
        listing = requests.get(f"{base}/feeds", timeout=30).text
        maritime = re.search(r'href="(http://[^"]+/feeds/maritime\.atom\?token=[0-9a-f]+)"', listing)
        arms = re.search(r'/feeds/arms\.atom\?token=([0-9a-f]+)"', listing)
        assert maritime and arms
        refused = [requests.get(url, timeout=30).status_code for url in (
            f"{base}/feeds/maritime.atom", f"{base}/feeds/maritime.atom?token=" + "0" * 32,
            f"{base}/feeds/maritime.atom?token={arms.group(1)}")]
        assert refused == [403, 403, 403]
        response = requests.get(maritime.group(1), timeout=30)
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert [e.title for e in feed.entries] == ["Coast guard fires water cannon near Second Thomas Shoal"]
        entry = feed.entries[0]
        assert entry.link == "https://rappler.example/1"
        assert "rappler" in entry.summary and "Second Thomas Shoal" in entry.summary
        assert entry.updated_parsed is not None and entry.published_parsed is not None
        opml = requests.get(f"{base}/feeds.opml", timeout=30)
        assert opml.status_code == 200 and maritime.group(1).replace("&", "&amp;") in opml.text


def test_a_wrong_password_is_refused_with_401_and_the_right_one_lets_in(db_file):
    with served(db_file, WebSettings(password="correct horse battery")) as base:
        assert requests.get(f"{base}/stories", timeout=30).status_code == 401
        wrong = requests.get(f"{base}/stories", auth=("ana", "wrong"), timeout=30)
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
        assert "correct horse" not in wrong.text
        page = requests.get(f"{base}/stories", auth=("ana", "correct horse battery"), timeout=30)
        assert page.status_code == 200 and "ana" in page.text and "correct horse" not in page.text


def test_a_trusted_header_is_believed_only_from_a_trusted_proxy(db_file):
    header = {"X-Forwarded-User": "carol"}
    settings = WebSettings(password="pw-for-others", trusted_user_header="X-Forwarded-User",
                           trusted_proxies=("127.0.0.1",))
    with served(db_file, settings) as base:
        assert "carol" in requests.get(f"{base}/stories", headers=header, timeout=30).text
    distrusting = WebSettings(password="pw-for-others", trusted_user_header="X-Forwarded-User",
                              trusted_proxies=("10.0.0.0/8",))
    with served(db_file, distrusting) as base:
        assert requests.get(f"{base}/stories", headers=header, timeout=30).status_code == 401


def test_beyond_loopback_without_a_password_it_refuses_to_start(db_file, tmp_path):
    with pytest.raises(ValueError, match=r"web.host '0.0.0.0' is reachable from other machines"):
        create_app(db_file, WebSettings(host="0.0.0.0"))
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  host: 0.0.0.0\n  port: 8765\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"needs web\.password"):
        load_config(config)


def test_the_password_from_the_environment_never_shows(db_file, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  host: 0.0.0.0\n  password: ${NEWSWATCH_WEB_PASSWORD}\n", encoding="utf-8")
    loaded = load_config(config, environ={"NEWSWATCH_WEB_PASSWORD": "s3cret-Pa55word"})
    assert loaded.web.password == "s3cret-Pa55word" and "s3cret" not in repr(loaded.web)
    with served(db_file, loaded.web) as base:
        pages = [requests.get(f"{base}{path}", auth=("ana", "s3cret-Pa55word"), timeout=30).text
                 for path in ("/stories", "/stories/1", "/feeds")]
        assert all("s3cret" not in page for page in pages)


def test_pages_carry_a_strict_content_security_policy(db_file):
    with served(db_file) as base:
        for path in ("/stories", "/stories/1", "/stories/999", "/static/app.css"):
            response = requests.get(f"{base}{path}", timeout=30)
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert requests.get(f"{base}/stories/999", timeout=30).status_code == 404


def test_keyset_pages_walk_every_story_once_newest_first(db_file):
    import sqlite3

    with sqlite3.connect(db_file) as conn:  # 120 more stories, several sharing one last_seen second
        conn.executemany("INSERT INTO stories (title, url, source, first_seen, last_seen, article_count, outlets) "
                         "VALUES (?, ?, 'x', ?, ?, 1, '[\"x\"]')",
                         [(f"story {n}", f"https://x.example/{n}", f"2026-05-0{1 + n // 40}T00:00:00+00:00",
                           f"2026-05-0{1 + n // 40}T00:00:{n % 7:02d}+00:00") for n in range(120)])
    with served(db_file) as base:
        seen: list[str] = []
        url: str | None = f"{base}/stories"
        while url:
            page = requests.get(url, timeout=30).text
            seen += re.findall(r'class="story-link" href="/stories/(\d+)"', page)
            older = re.search(r'rel="next" href="([^"]+)"', page)
            url = base + older.group(1).replace("&amp;", "&") if older else None
    assert len(seen) == 122 and len(set(seen)) == 122
