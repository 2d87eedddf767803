"""The lab, sources and outbox pages over HTTP: a real uvicorn on 127.0.0.1, a real store filled by the
real pipeline, real loopback receivers for the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import requests

from alerts import compile_matcher, deliver_due, process_new_articles
from crawler.store import record_source_result
from scheduler.config import load_config
from scheduler.schema import open_store
from tests.loopback import WebhookReceiver
from tests.scheduler.web.labkit import EDITED_RULE, csrf, edited_maritime, fill, served, write_config
from tests.scheduler.web.workbench import T0, add


def test_a_watchlist_edit_is_previewed_then_saved_with_the_file_s_comments(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "config.yaml")
    ids = fill(config_path)
    original = config_path.read_text(encoding="utf-8")
    with served(tmp_path / "nw.db", config_path) as base:
        session = requests.Session()
        index = session.get(f"{base}/lab", timeout=60)
        assert index.status_code == 200 and 'href="/lab/maritime"' in index.text
        page, token = csrf(session, f"{base}/lab/maritime")
        assert "# the places we watch" in page  # the editor shows the watchlist as written
        edit = {"csrf": token, "yaml": edited_maritime(config_path), "days": "7"}

        preview = session.post(f"{base}/lab/maritime", data={**edit, "action": "preview"}, timeout=120)
        assert preview.status_code == 200, preview.text[:2000]
        newly = preview.text[preview.text.index('id="newly-flagged"'):preview.text.index('id="no-longer-flagged"')]
        assert "Newly flagged (2)" in newly
        assert f'href="/stories/{ids["frigate"]}"' in newly and "judged relevant" in newly
        assert "Ferry turns back near Scarborough Shoal" in newly and "no story yet" in newly
        assert "<mark>Scarborough Shoal</mark> on Monday" in newly  # the evidence sentence, term marked
        dropped = preview.text[preview.text.index('id="no-longer-flagged"'):]
        assert "No longer flagged (1)" in dropped and "Coast guard rescues two swimmers" in dropped
        scores = preview.text[preview.text.index('class="list scores"'):]
        assert "<th>Now</th><td class=\"num\">0.50</td><td class=\"num\">0.50</td>" in scores
        assert "<th>After the edit</th><td class=\"num\">1.00</td><td class=\"num\">1.00</td>" in scores
        assert config_path.read_text(encoding="utf-8") == original  # a preview writes nothing

        saved = session.post(f"{base}/lab/maritime", data={**edit, "action": "save"}, timeout=120,
                             allow_redirects=False)
        assert saved.status_code == 303 and saved.headers["location"] == "/lab/maritime?done=saved"
        text = config_path.read_text(encoding="utf-8")
        assert text.startswith("# newswatch test configuration (this comment must survive every edit)\n")
        assert EDITED_RULE in text.splitlines()
        assert "    none: [swimmers]   # lifeguard stories are not incidents\n" in text
        assert "  # Weapons trade.\n" in text
        after = session.get(f"{base}/lab/maritime?done=saved", timeout=60)
        assert "Saved to" in after.text and "Scarborough Shoal" in after.text


def test_an_invalid_edit_is_shown_with_its_problem_and_never_written(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "config.yaml")
    fill(config_path)
    original = config_path.read_text(encoding="utf-8")
    with served(tmp_path / "nw.db", config_path) as base:
        session = requests.Session()
        _, token = csrf(session, f"{base}/lab/maritime")
        bad = edited_maritime(config_path).replace("targets: [hook]", "targets: [nowhere]")
        for action in ("preview", "save"):
            answer = session.post(f"{base}/lab/maritime", data={"csrf": token, "yaml": bad, "days": "7",
                                                                 "action": action}, timeout=120)
            assert answer.status_code == 400
            assert "names target &#39;nowhere&#39;, which is not defined" in answer.text
        forged = requests.post(f"{base}/lab/maritime", data={"yaml": bad, "action": "save"}, timeout=60)
        assert forged.status_code == 403
    assert config_path.read_text(encoding="utf-8") == original


def test_the_retry_button_moves_a_dead_alert_back_to_pending(tmp_path: Path) -> None:
    with WebhookReceiver() as hook:
        config_path = write_config(tmp_path / "config.yaml", hook.url("/h"))
        config = load_config(config_path)
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes(), now=T0)
        hook.script([404])  # a wrong URL will not heal: dead-lettered at once
        report = deliver_due(db, config.targets, max_attempts=3)
        assert report.dead == 1
        db.conn.close()
        with served(tmp_path / "nw.db", config_path) as base:
            session = requests.Session()
            page, token = csrf(session, f"{base}/outbox")
            assert 'data-status="dead"' in page and "HTTP 404" in page
            assert "Retry 1 dead" in page
            retried = session.post(f"{base}/outbox/retry", data={"csrf": token, "target": "hook"}, timeout=60,
                                   allow_redirects=False)
            assert retried.status_code == 303
            after = session.get(f"{base}{retried.headers['location']}", timeout=60)
            assert "1 dead-lettered message(s) of hook queued again." in after.text
            assert 'data-status="pending"' in after.text and 'data-status="dead"' not in after.text
        with sqlite3.connect(tmp_path / "nw.db") as conn:
            assert conn.execute("SELECT status, attempts FROM outbox").fetchall() == [("pending", 0)]
        db = open_store(tmp_path / "nw.db")
        assert deliver_due(db, config.targets).delivered == 1  # and it goes out on the next run
        assert len(hook.received) == 1


def test_the_sources_page_shows_health_and_failure_class(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "config.yaml", extra=(
        "sources:\n  - {name: rappler, kind: feed, url: 'https://rappler.example/feed'}\n"
        "  - {name: kyodo, kind: feed, url: 'https://kyodo.example/rss'}\n"
        "  - {name: fresh, kind: feed, url: 'https://fresh.example/rss'}\n"))
    fill(config_path)
    db = open_store(tmp_path / "nw.db")
    record_source_result(db, name="rappler", kind="feed", url="https://rappler.example/feed", ok=True,
                         http_status=200, new_articles=1)
    for _ in range(3):
        record_source_result(db, name="kyodo", kind="feed", url="https://kyodo.example/rss", ok=False,
                             http_status=403, new_articles=0, error_class="blocked", error="HTTP 403 Forbidden")
    db.conn.close()
    with served(tmp_path / "nw.db", config_path) as base:
        page = requests.get(f"{base}/sources", timeout=60).text
    rows = {name: page[page.index(f'data-source="{name}"'):] for name in ("rappler", "kyodo", "fresh")}
    assert page.index('data-source="kyodo"') < page.index('data-source="rappler"')  # failing first
    assert "3 in a row" in rows["kyodo"].split("</tr>")[0] and "blocked" in rows["kyodo"].split("</tr>")[0]
    assert "HTTP 403 Forbidden" in rows["kyodo"].split("</tr>")[0]
    rappler = rows["rappler"].split("</tr>")[0]
    assert "never" not in rappler and "0</td>" in rappler
    assert "never crawled" in rows["fresh"].split("</tr>")[0]
    assert 'class="state state-blocked">blocked<' in rows["kyodo"]  # the source state (crawler.source_states)
    assert 'class="state state-ok">ok<' in rappler or 'state-not-modified' in rappler
    assert "not running" in page  # no daemon: no next crawl is promised
