"""The crawler's part of the SQLite store: sources, articles (with FTS5) and seen URLs.

One SQLite file, WAL mode, opened through sqlite-utils. `alerts` keeps its own tables in the same
file and reads articles only through `iter_articles_after()` / `get_article()`.
Settings read: the database path (passed in by the caller).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler.errors import StoreError
from crawler.items import Article

logger = logging.getLogger(__name__)

_ARTICLE_COLUMNS: dict[str, Any] = {
    "id": int,
    "url": str,  # canonical URL, unique
    "source": str,
    "title": str,
    "text": str,
    "summary": str,
    "published": str,
    "fetched_at": str,
    "authors": str,  # JSON list
    "language": str,
    "image": str,
    "extracted": int,
    "tags": str,  # JSON list
    "fingerprint": str,  # hash of normalised text: identical bodies under two URLs
}


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC (what every timestamp column holds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_store(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the SQLite store with the crawler's tables, in WAL mode.

    Args:
        path: the database file; its folder is created if missing.

    Returns:
        A sqlite-utils Database. Safe to call from several processes on one file.

    Raises:
        StoreError: the file cannot be opened or is not a SQLite database.
    """
    db_file = Path(path)
    try:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db_file), timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        _ensure_schema(db)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise StoreError(f"cannot open database {db_file}: {exc}") from exc
    return db


def _ensure_schema(db: sqlite_utils.Database) -> None:
    if "articles" not in db.table_names():
        db["articles"].create(_ARTICLE_COLUMNS, pk="id", not_null={"url", "source", "title"})
        db["articles"].create_index(["url"], unique=True)
        db["articles"].create_index(["fingerprint"])
        db["articles"].enable_fts(["title", "text"], tokenize="unicode61", create_triggers=True)
    if "seen_urls" not in db.table_names():
        db["seen_urls"].create({"url": str, "source": str, "first_seen": str}, pk="url")
    if "sources" not in db.table_names():
        db["sources"].create(
            {
                "name": str,
                "url": str,
                "kind": str,
                "etag": str,
                "last_modified": str,
                "body_hash": str,
                "last_attempt": str,
                "last_success": str,
                "last_status": int,
                "consecutive_failures": int,
                "failing_since": str,
                "error_class": str,
                "error": str,
                "articles_total": int,
            },
            pk="name",
            defaults={"consecutive_failures": 0, "articles_total": 0},
        )


def insert_article(db: sqlite_utils.Database, record: dict[str, Any]) -> int | None:
    """Store one article unless its canonical URL is already stored.

    Args:
        record: column values (see `_ARTICLE_COLUMNS`); `authors` and `tags` may be sequences.

    Returns:
        The new row id, or None when the URL was already stored.
    """
    row = dict(record)
    for key in ("authors", "tags"):
        if not isinstance(row.get(key), str):
            row[key] = json.dumps(list(row.get(key) or []), ensure_ascii=False)
    row.setdefault("fetched_at", utc_now())
    row["extracted"] = int(bool(row.get("extracted", True)))
    with db.conn:
        cursor = db.execute(
            "INSERT OR IGNORE INTO articles ({cols}) VALUES ({marks})".format(
                cols=", ".join(f"[{c}]" for c in row), marks=", ".join("?" for _ in row)
            ),
            list(row.values()),
        )
    return cursor.lastrowid if cursor.rowcount else None


def _row_to_article(row: dict[str, Any]) -> Article:
    return Article(
        id=row["id"],
        url=row["url"],
        source=row["source"],
        title=row["title"] or "",
        text=row["text"] or "",
        summary=row["summary"] or "",
        published=row["published"],
        fetched_at=row["fetched_at"] or "",
        authors=tuple(json.loads(row["authors"] or "[]")),
        language=row["language"],
        image=row["image"],
        extracted=bool(row["extracted"]),
        tags=tuple(json.loads(row["tags"] or "[]")),
    )


def iter_articles_after(db: sqlite_utils.Database, after_id: int, limit: int | None = None) -> Iterator[Article]:
    """Articles with an id greater than `after_id`, oldest first (how `alerts` finds new ones)."""
    sql = "SELECT * FROM articles WHERE id > ? ORDER BY id"
    params: list[Any] = [after_id]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    for row in db.query(sql, params):
        yield _row_to_article(row)


def get_article(db: sqlite_utils.Database, article_id: int) -> Article:
    """One stored article by id.

    Raises:
        StoreError: no such article.
    """
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
    if not rows:
        raise StoreError(f"no article with id {article_id}")
    return _row_to_article(rows[0])
