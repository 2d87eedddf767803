"""`newswatch status` and `newswatch prune` on a real store, through the CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from crawler import insert_article
from scheduler.cli import main
from scheduler.schema import open_store
from scheduler.state import publish_jobs

CONFIG = """\
database: nw.db
retention: {article_text_days: 30}
sources:
  - {name: kyodo, kind: feed, url: "https://english.kyodonews.net/rss/news.xml", every: 5m}
  - {name: rappler, kind: feed, url: "https://www.rappler.com/feed/", every: 10m}
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_status_shows_daemon_next_runs_and_never_crawled_sources(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = open_store(tmp_path / "nw.db")
    soon = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    publish_jobs(db, [("crawl:kyodo", "crawl kyodo", soon)], started_at=datetime.now(UTC))
    db.execute("INSERT INTO sources (name, url, kind, last_success, consecutive_failures) VALUES (?, ?, ?, ?, ?)",
               ["kyodo", "https://english.kyodonews.net/rss/news.xml", "feed", "2029-12-31T00:00:00+00:00", 0])
    db.conn.commit()
    db.close()

    text = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert text.exit_code == 0, text.output
    assert "daemon: pid" in text.output
    assert "next run 2030-01-01T12:00:00+00:00" in text.output
    assert "rappler" in text.output and "never crawled" in text.output

    data = json.loads(CliRunner().invoke(main, ["status", "--json", "--config", str(config)]).output)
    assert data["jobs"]["crawl:kyodo"] == "2030-01-01T12:00:00+00:00"
    assert data["database_bytes"] > 0


def test_prune_empties_old_bodies_and_keeps_recent_ones(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = open_store(tmp_path / "nw.db")
    old = (datetime.now(UTC) - timedelta(days=45)).isoformat(timespec="seconds")
    insert_article(db, {"url": "https://a.example/old", "source": "kyodo", "title": "Old story",
                        "text": "Coast guard ships near the Senkaku islands.", "fetched_at": old})
    insert_article(db, {"url": "https://a.example/new", "source": "kyodo", "title": "New story",
                        "text": "Fresh text about Scarborough Shoal."})
    db.close()

    result = CliRunner().invoke(main, ["prune", "--vacuum", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "emptied 1 article bodies" in result.output
    rows = dict(sqlite3.connect(tmp_path / "nw.db").execute("SELECT title, text FROM articles"))
    assert rows == {"Old story": "", "New story": "Fresh text about Scarborough Shoal."}
    hits = sqlite3.connect(tmp_path / "nw.db").execute(
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'Senkaku'").fetchone()[0]
    assert hits == 0, "the full-text index forgets pruned bodies too"


def test_prune_deletes_old_send_attempts_by_the_retention_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("{article_text_days: 30}", "{article_text_days: 30, deliveries_days: 10}"),
                      encoding="utf-8")
    db = open_store(tmp_path / "nw.db")
    now = datetime.now(UTC)
    for days in (40, 11, 2):
        db.execute("INSERT INTO deliveries (outbox_id, target, attempt, started_at, outcome) VALUES (1, 'hook', 1, ?, "
                   "'failed')", [(now - timedelta(days=days)).isoformat(timespec="seconds")])
    db.conn.commit()
    db.close()

    result = CliRunner().invoke(main, ["prune", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "deleted 2 send attempts and 0 sent alerts" in result.output
    left = sqlite3.connect(tmp_path / "nw.db").execute("SELECT count(*) FROM deliveries").fetchone()[0]
    assert left == 1
