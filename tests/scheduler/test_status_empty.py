"""A feed that answers but lists no items reads `empty` on every surface that names a source's state:
`newswatch status` (text and JSON), `/metrics` and the workbench's sources page; and one that stays
empty as long as a failing source would before a notice (`operations.source_failing_after`) raises one
notice. Real crawls (`newswatch crawl --once`) of real loopback feeds fill the store."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import requests
import sqlite_utils

from scheduler.config import load_config
from tests.crawler.sites import article_html, rss
from tests.e2e_site import run_newswatch
from tests.loopback import LoopbackHTTPServer
from tests.scheduler.test_job_threads import check_sources_once
from tests.scheduler.web.labkit import served

CONFIG = """\
database: nw.db
crawl: {{download_delay: 0.0}}
targets:
  - {{name: hook, kind: webhook, url: "http://127.0.0.1:9/none"}}
operations: {{targets: [hook], source_failing_after: 6h}}
watchlists:
  - name: ramen
    targets: [hook]
    rules:
      - {{name: noodles, any: [ramen]}}
sources:
  - {{name: silent, kind: feed, url: "{silent}", every: 1h}}
  - {{name: bugle, kind: feed, url: "{bugle}", every: 1h}}
"""
DETAIL = "its feed listed no entries when last read"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}


def _crawled(site: LoopbackHTTPServer, tmp_path: Path) -> Path:
    """A config with an empty feed and a feed of two stories, both crawled once for real."""
    site.add("/empty.xml", rss([]), "application/rss+xml")
    for i in range(2):
        site.add(f"/news/{i}", article_html(f"Coast guard story {i}", f"Unique body sentence {i}."))
    site.add("/full.xml", rss([(site.url(f"/news/{i}"), f"Story {i}", "s") for i in range(2)]), "application/rss+xml")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(silent=site.url("/empty.xml"), bugle=site.url("/full.xml")), encoding="utf-8")
    done = run_newswatch(["crawl", "--once", "--config", str(config)], _env(), tmp_path)
    assert done.returncode == 0, done.stderr
    return config


def _source_line(text: str, name: str) -> str:
    (line,) = [line for line in text.splitlines() if line.strip().startswith(f"{name} ")]
    return line


def test_status_says_empty_and_why(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    config = _crawled(site, tmp_path)
    text = run_newswatch(["status", "--config", str(config)], _env(), tmp_path)
    assert text.returncode == 0, text.stderr
    silent, bugle = _source_line(text.stdout, "silent"), _source_line(text.stdout, "bugle")
    assert silent.endswith(f"state empty ({DETAIL})"), silent
    assert "; ok" not in silent  # no "ok" beside "empty"
    assert bugle.endswith("state ok"), bugle
    data = json.loads(run_newswatch(["status", "--json", "--config", str(config)], _env(), tmp_path).stdout)
    by_name = {s["name"]: s for s in data["sources"]}
    assert (by_name["silent"]["state"], by_name["silent"]["state_detail"], by_name["silent"]["last_entries"]) == (
        "empty", DETAIL, 0)
    assert (by_name["bugle"]["state"], by_name["bugle"]["state_detail"], by_name["bugle"]["last_entries"]) == (
        "ok", None, 2)


def test_metrics_and_the_sources_page_say_empty(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    config_path = _crawled(site, tmp_path)
    config = load_config(config_path)

    metrics = check_sources_once(config).metrics
    for source, state in (("silent", "empty"), ("bugle", "ok")):
        assert metrics.value("newswatch_source_state", {"source": source, "newswatch_source_state": state}) == 1
        assert metrics.total("newswatch_source_state", source=source) == 1  # one state at a time
    assert 'newswatch_source_state{newswatch_source_state="empty",source="silent"} 1.0' in metrics.render().decode()

    with served(config.database, config_path) as base:
        page = requests.get(f"{base}/sources", timeout=60).text
    silent = page[page.index('data-source="silent"'):].split("</tr>")[0]
    bugle = page[page.index('data-source="bugle"'):].split("</tr>")[0]
    assert 'class="state state-empty">empty<' in silent and DETAIL in silent
    assert 'class="state state-ok">ok<' in bugle and "listed no entries" not in bugle


def _notices(database: Path) -> list[dict[str, object]]:
    db = sqlite_utils.Database(database)
    try:
        return list(db.query("SELECT target, subject, body FROM outbox WHERE kind = 'notice'"))
    finally:
        db.close()


def test_a_source_empty_for_six_hours_raises_one_notice(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    from crawler.timeutil import iso, now_utc

    config = load_config(_crawled(site, tmp_path))
    check_sources_once(config)
    assert _notices(config.database) == []  # one empty read is not news yet
    # The feed has listed nothing since just over source_failing_after (6h) ago.
    since = iso(now_utc() - timedelta(hours=6, minutes=1))
    db = sqlite_utils.Database(config.database)
    db.execute("UPDATE sources SET empty_since = ? WHERE name = 'silent'", [since])
    db.conn.commit()
    db.close()
    check_sources_once(config)
    check_sources_once(config)  # the next health check: the same emptiness, no second notice
    (notice,) = _notices(config.database)
    assert notice["target"] == "hook"
    assert notice["subject"] == f"source silent has listed nothing since {since}"
    assert f"its feed has listed no entries at any read since {since}" in str(notice["body"])
    assert "bugle" not in str(notice["body"])
