"""The story list's queries: a search that matches many articles pages exactly like one that matches few."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alerts.store import ensure_alerts_schema
from crawler.store import open_store
from scheduler.web import queries


def _walk(conn: sqlite3.Connection, f: queries.StoryFilter, limit: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = queries.list_stories(conn, f, after, limit=limit)
        seen += [row.id for row in page.rows]
        if page.next_key is None:
            return seen
        after = page.next_key


@pytest.fixture
def conn(db_path: Path) -> sqlite3.Connection:
    db = open_store(db_path)
    ensure_alerts_schema(db)
    with db.conn:  # 300 stories; the word "reef" is in two articles of three, and stories hold 1-3 articles
        article = 0
        for story in range(1, 301):
            seen = f"2026-05-{1 + story % 20:02d}T00:00:{story % 3:02d}+00:00"
            db.conn.execute("INSERT INTO stories (id, title, url, first_seen, last_seen, article_count, outlets) "
                            "VALUES (?, ?, '', ?, ?, 1, '[]')", [story, f"story {story}", seen, seen])
            for _ in range(1 + story % 3):
                article += 1
                text = "reef patrol" if article % 3 else "harbour patrol"
                db.conn.execute("INSERT INTO articles (id, url, source, title, text) VALUES (?, ?, 's', 't', ?)",
                                [article, f"https://x.example/{article}", text])
                db.conn.execute("INSERT INTO story_articles (article_id, story_id) VALUES (?, ?)", [article, story])
    return db.conn


@pytest.mark.parametrize("words", ["reef", "harbour", "patrol", "reef patrol", "patr"])
def test_a_dense_search_pages_like_a_sparse_one(conn, monkeypatch, words):
    f = queries.StoryFilter(q=words)
    monkeypatch.setattr(queries, "DENSE_SEARCH", 10**9)
    collected = _walk(conn, f, limit=7)
    monkeypatch.setattr(queries, "DENSE_SEARCH", 1)
    monkeypatch.setattr(queries, "_BATCH", 5)
    walked = _walk(conn, f, limit=7)
    assert walked == collected and len(set(walked)) == len(walked) > 0
