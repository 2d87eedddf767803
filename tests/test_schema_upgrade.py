"""Schema versions: a database written by the previous code upgrades itself on open and loses
nothing; a database from a newer newswatch is refused with one clear line; opening twice applies
nothing the second time.

The old database is tests/fixtures/db_before_schema_versions.sql: the SQL dump of a file made by
tests/fixtures/make_old_db.py run with the code before schema versions (aeed68e). A binary .db is
never committed; the dump is loaded into a fresh file under tmp_path.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.delivery.models import TargetSpec
from alerts.delivery.worker import deliver_due
from alerts.schema import ALERTS_SCHEMA
from crawler import insert_article
from crawler.schema import CRAWLER_SCHEMA
from scheduler.schema import SCHEDULER_SCHEMA, open_store
from tests.e2e_site import run_newswatch
from tests.loopback import WebhookReceiver

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OLD_DUMP = FIXTURES / "db_before_schema_versions.sql"
PACKAGES = {schema.package: schema.latest for schema in (CRAWLER_SCHEMA, ALERTS_SCHEMA, SCHEDULER_SCHEMA)}


def load_old_database(path: Path) -> Path:
    """The old code's database, rebuilt from its SQL dump into `path`."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(OLD_DUMP.read_text(encoding="utf-8"))
    finally:
        conn.close()  # the dump writes the FTS table into sqlite_schema: a new connection sees it
    return path


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def versions(path: Path) -> dict[str, int]:
    return dict(rows(path, "SELECT package, version FROM schema_versions"))  # type: ignore[arg-type]


def test_old_database_upgrades_without_losing_anything_and_its_pending_alerts_go_out_once(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    path = load_old_database(tmp_path / "old.db")
    assert "schema_versions" not in {r[0] for r in rows(path, "SELECT name FROM sqlite_master")}
    articles = rows(path, "SELECT id, url, title FROM articles ORDER BY id")
    stories = rows(path, "SELECT id, title, article_count FROM stories ORDER BY id")
    matches = rows(path, "SELECT id, article_id, watchlist, story_id FROM matches ORDER BY id")
    pending = rows(path, "SELECT id, story_id, target, idempotency_key, attempts FROM outbox "
                         "WHERE status = 'pending' ORDER BY id")
    assert len(articles) == 4 and len(stories) == 2 and len(pending) == 2  # what make_old_db.py wrote
    assert {p[2] for p in pending} == {"hook", "down"} and max(p[4] for p in pending) == 1

    db = open_store(path)
    try:
        assert versions(path) == PACKAGES
        assert rows(path, "SELECT id, url, title FROM articles ORDER BY id") == articles
        assert rows(path, "SELECT id, title, article_count FROM stories ORDER BY id") == stories
        assert rows(path, "SELECT id, article_id, watchlist, story_id FROM matches ORDER BY id") == matches
        assert rows(path, "SELECT id, story_id, target, idempotency_key, attempts FROM outbox "
                          "WHERE status = 'pending' ORDER BY id") == pending
        # The full-text index the old code built still follows the articles table.
        new_id = insert_article(db, {"url": "https://news.example/new", "source": "cna", "title": "Frigate trials",
                                     "text": "Sea trials of the new frigate began."})
        assert sorted(r[0] for r in rows(path, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'frigate'")
                      ) == [3, new_id]

        # Both targets are up now; the retry of the row tried once is due an hour later.
        targets = {name: TargetSpec(name=name, kind="webhook", url=receiver.url(f"/{name}"), timeout=10.0)
                   for name in ("hook", "down")}
        later = _first_attempt(path) + timedelta(hours=1)
        first = deliver_due(db, targets, now=later)
        assert (first.attempted, first.delivered) == (2, 2)
        again = deliver_due(db, targets, now=later + timedelta(hours=1))
        assert again.attempted == 0
    finally:
        db.close()
    received = receiver.received
    assert len(received) == 2  # exactly once each, after the second run had nothing to send
    assert sorted(r.headers["idempotency-key"] for r in received) == sorted(p[3] for p in pending)
    assert sorted(json.loads(r.body)["story"]["title"] for r in received) == sorted(s[1] for s in stories)
    assert rows(path, "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)]


def _first_attempt(path: Path) -> Any:
    from crawler.timeutil import parse_iso

    (stamp,) = rows(path, "SELECT max(next_attempt_at) FROM outbox")[0]
    return parse_iso(stamp)


def test_opening_twice_applies_nothing_the_second_time(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "nw.db"
    with caplog.at_level("INFO", logger="crawler.migrations"):
        open_store(path).close()
    assert [r.getMessage() for r in caplog.records if "migration 1 applied" in r.getMessage()]
    stamps = rows(path, "SELECT package, version, applied_at FROM schema_versions ORDER BY package")
    schema_cookie = rows(path, "PRAGMA schema_version")
    caplog.clear()
    with caplog.at_level("INFO", logger="crawler.migrations"):
        open_store(path).close()
    assert [r for r in caplog.records if r.name == "crawler.migrations"] == []
    assert rows(path, "SELECT package, version, applied_at FROM schema_versions ORDER BY package") == stamps
    assert rows(path, "PRAGMA schema_version") == schema_cookie  # no table, column or index touched
    assert dict((p, v) for p, v, _ in stamps) == PACKAGES


def test_a_database_from_a_newer_newswatch_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_versions SET version = 7 WHERE package = 'alerts'")
    before = rows(path, "SELECT * FROM schema_versions ORDER BY package")
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {path}\nsources: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    for command in (["status"], ["run"], ["crawl", "--once"], ["stories"]):
        done = run_newswatch([*command, "--config", str(config)], env, tmp_path)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1, done.stderr
        (line,) = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
        assert str(path) in line and "alerts schema version 7" in line and f"up to {ALERTS_SCHEMA.latest}" in line, line
        assert "upgrade newswatch" in line, line
    assert rows(path, "SELECT * FROM schema_versions ORDER BY package") == before  # the file was left alone


def test_an_outbox_older_than_its_added_columns_gets_them_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    with sqlite3.connect(path) as conn:  # the outbox of the first release, before any ALTER TABLE
        conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, story_id INTEGER NOT NULL, target TEXT NOT NULL, "
                     "kind TEXT NOT NULL DEFAULT 'alert', watchlists TEXT NOT NULL, article_id INTEGER, "
                     "status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, "
                     "next_attempt_at TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, "
                     "updated_at TEXT, delivered_at TEXT, last_status INTEGER, last_error TEXT)")
        conn.execute("INSERT INTO outbox (story_id, target, watchlists, next_attempt_at, idempotency_key, created_at) "
                     "VALUES (1, 'hook', '[\"w\"]', '2024-06-01T08:00:00+00:00', 'k1', '2024-06-01T08:00:00+00:00')")
    open_store(path).close()
    columns = [r[1] for r in rows(path, "PRAGMA table_info(outbox)")]
    assert columns[-11:] == ["first_tried_at", "due_at", "tz", "notice_key", "subject", "body", "slack_ts",
                             "slack_channel", "covered_article_id", "parent_id", "lease_owner"]
    assert rows(path, "SELECT id, idempotency_key, status FROM outbox") == [(1, "k1", "pending")]
    assert versions(path) == PACKAGES


def test_processes_opening_a_fresh_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def opener() -> None:
        try:
            start.wait(timeout=60)
            open_store(path).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert versions(path) == PACKAGES


def test_a_store_from_before_entry_counts_gets_the_column_in_place_and_keeps_its_sources(tmp_path: Path) -> None:
    from crawler.migrations import Schema, apply_migrations
    from crawler.store import connect, record_source_result, source_health

    path = tmp_path / "nw.db"
    db = connect(path)  # the crawler's tables as the release before sources.last_entries left them
    apply_migrations(db, Schema("crawler", CRAWLER_SCHEMA.migrations[:2]))
    db.execute("INSERT INTO sources (name, url, kind, etag, last_attempt, last_success, last_status, "
               "consecutive_failures, articles_total) VALUES ('kyodo', 'https://kyodo.example/rss', 'feed', '\"v7\"', "
               "'2026-12-01T08:00:00+00:00', '2026-12-01T08:00:00+00:00', 200, 0, 41)")
    db.conn.commit()
    db.close()
    assert "last_entries" not in {r[1] for r in rows(path, "PRAGMA table_info(sources)")}

    db = open_store(path)
    try:
        assert versions(path)["crawler"] == CRAWLER_SCHEMA.latest
        assert rows(path, "SELECT name, etag, articles_total, last_entries FROM sources") == [
            ("kyodo", '"v7"', 41, None)]
        (health,) = source_health(db)
        assert health.state() == "ok"  # not counted yet is not empty
        record_source_result(db, name="kyodo", kind="feed", url="https://kyodo.example/rss", ok=True,
                             http_status=200, new_articles=0, entries=0)
        (health,) = source_health(db)
        assert (health.last_entries, health.state()) == (0, "empty")
    finally:
        db.close()
