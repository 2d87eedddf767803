"""The crawler's part of the SQLite store: sources, articles (with FTS5) and seen URLs.

One SQLite file, WAL mode, opened through sqlite-utils: `connect()` sets a connection up and
`open_store()` also brings the tables up to date with the numbered migrations of `crawler.schema`
(and of the packages above, which pass theirs in). `alerts` keeps its own tables in the same
file and reads articles only through `iter_articles_after()`, `get_article()` and `article_titles()`.
Besides articles the crawler keeps, per source, the conditional-GET validators (ETag,
Last-Modified, body hash) and its health (last attempt and success, HTTP status, consecutive failures,
reason class, entries its index last listed); `source_health()` reports it for `newswatch status`.
Settings read: the database path (passed in by the caller); `seen_url_days` (passed in).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler.errors import StoreError
from crawler.items import Article
from crawler.migrations import Schema, apply_migrations
from crawler.schema import CRAWLER_SCHEMA
from crawler.source_states import SourceFacts, source_state, state_detail
from crawler.timeutil import iso_ago, parse_iso, utc_now

logger = logging.getLogger(__name__)

def _enable_wal(db: sqlite_utils.Database, patience: float = 30.0) -> None:
    """Switch a file to WAL, waiting while another process does the same.

    Switching the journal mode needs an exclusive lock, and SQLite answers "database is locked" at
    once instead of calling the busy handler when several processes open a fresh file together (the
    daemon, `newswatch status` and a worker starting at the same moment). So: retry for a while.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect(path: str | Path) -> sqlite_utils.Database:
    """A connection to the store file, set up as every connection of newswatch is: WAL mode, a 30 s
    busy timeout, ``synchronous = NORMAL``; no tables are created (see `open_store()`).

    Args:
        path: the database file; its folder is created if missing.

    Raises:
        StoreError: the file cannot be opened or is not a SQLite database.
    """
    db_file = Path(path)
    conn: sqlite3.Connection | None = None
    try:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db_file), timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
    except (sqlite3.DatabaseError, OSError) as exc:
        if conn is not None:
            conn.close()
        raise StoreError(f"cannot open database {db_file}: {exc}") from exc
    return db


def open_store(path: str | Path, *schemas: Schema) -> sqlite_utils.Database:
    """Open (creating if needed) the store with the crawler's tables up to date, then `schemas`' tables.

    The one way a store is opened: the crawler's migrations run first, then each of `schemas` in the
    order given (a higher package passes its own: `alerts.store.open_store()` passes the alerts
    schema, the scheduler's passes alerts' and its own). Migrations already applied are not run
    again (see `crawler.migrations`).

    Args:
        path: the database file; its folder is created if missing.
        schemas: the schemas of the packages above the crawler, lowest layer first.

    Returns:
        A sqlite-utils Database. Safe to call from several processes on one file.

    Raises:
        StoreError: the file cannot be opened, is not a SQLite database, or a migration failed.
        SchemaTooNewError: the file was written by a newer newswatch (a StoreError too).
    """
    db = connect(path)
    try:
        for schema in (CRAWLER_SCHEMA, *schemas):
            apply_migrations(db, schema)
    except sqlite3.DatabaseError as exc:
        db.conn.close()
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    except BaseException:
        db.conn.close()
        raise
    return db


def insert_article(db: sqlite_utils.Database, record: dict[str, Any]) -> int | None:
    """Store one article unless its canonical URL is already stored.

    Args:
        record: column values (see `crawler.schema`); `authors` and `tags` may be sequences.

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


def iter_articles_after(
    db: sqlite_utils.Database, after_id: int, limit: int | None = None
) -> Iterator[Article]:
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


def article_titles(db: sqlite_utils.Database, article_ids: Iterable[int]) -> dict[int, str]:
    """The headlines of stored articles by id (ids with no stored article are left out)."""
    ids = list(article_ids)
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(db.execute(f"SELECT id, title FROM articles WHERE id IN ({marks})", chunk).fetchall())
    return out


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the last successful fetch of a source's index left behind, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source's health, for `newswatch status`.

    `error_class` is one of `blocked`, `gone`, `broken`, `timeout`, `dns`, `network`, `too_large`,
    `server`, `redirect_loop`, `internal` (None while the source works). `last_entries` is how many
    entries its index listed when last read and parsed (None: not read since the store counts them);
    `empty_since` is when it began listing none (None while it lists some).
    """

    name: str
    kind: str
    url: str
    last_attempt: str | None
    last_success: str | None
    last_status: int | None
    consecutive_failures: int
    failing_since: str | None
    error_class: str | None
    error: str | None
    articles_per_day: float
    articles_total: int
    last_new_article: str | None = None
    disabled_at: str | None = None
    last_entries: int | None = None
    empty_since: str | None = None

    def facts(self) -> SourceFacts:
        """What `crawler.source_states` needs to name this source's state."""
        gap = 86400 / self.articles_per_day if self.articles_per_day > 0 else None
        return SourceFacts(
            last_attempt=_when(self.last_attempt), last_success=_when(self.last_success),
            last_status=self.last_status, consecutive_failures=self.consecutive_failures,
            failing_since=_when(self.failing_since), error_class=self.error_class, last_entries=self.last_entries,
            last_new_article=_when(self.last_new_article), usual_gap_seconds=gap,
            disabled_since=_when(self.disabled_at))

    def state(self, now: datetime | None = None) -> str:
        """ok, empty, not modified, quiet, failing, blocked, disabled… (`crawler.source_states`)."""
        return source_state(self.facts(), now or datetime.now(UTC))

    def state_words(self, now: datetime | None = None) -> tuple[str, str | None]:
        """The state and the words to show after it, if it needs any (`state_detail`): what every
        surface that names a source's state prints, so `empty` says what was empty everywhere."""
        state = self.state(now)
        return state, state_detail(state, self.kind)


def _when(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def set_source_disabled(db: sqlite_utils.Database, name: str, disabled: bool) -> bool:
    """Switch a source off (after failing too long) or on again; True when its row changed.

    Re-enabling also clears its failure count, so it is crawled as a fresh start, not disabled again
    at the next health check.
    """
    with db.conn:
        if disabled:
            cursor = db.execute("UPDATE sources SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                                [utc_now(), name])
        else:
            cursor = db.execute("UPDATE sources SET disabled_at = NULL, consecutive_failures = 0, "
                                "failing_since = NULL WHERE name = ? AND disabled_at IS NOT NULL", [name])
    return bool(cursor.rowcount)


def disabled_sources(db: sqlite_utils.Database) -> set[str]:
    """The names of the sources switched off after failing too long."""
    return {row[0] for row in db.execute("SELECT name FROM sources WHERE disabled_at IS NOT NULL")}


def load_source_state(db: sqlite_utils.Database, name: str) -> SourceState:
    """The stored conditional-GET validators of a source (empty for a new or a failing source).

    A failing source is fetched unconditionally: only a full fetch that parses can show it has
    recovered, since a 304 never clears a failure (`record_source_result`).
    """
    rows = list(db.query("SELECT etag, last_modified, body_hash, consecutive_failures FROM sources WHERE name = ?",
                         [name]))
    if not rows or (rows[0]["consecutive_failures"] or 0) > 0:
        return SourceState()
    return SourceState(rows[0]["etag"], rows[0]["last_modified"], rows[0]["body_hash"])


def record_source_result(
    db: sqlite_utils.Database,
    *,
    name: str,
    kind: str,
    url: str,
    ok: bool,
    http_status: int | None,
    new_articles: int,
    error_class: str | None = None,
    error: str | None = None,
    state: SourceState | None = None,
    entries: int | None = None,
) -> None:
    """Record one crawl of a source: health columns, and the new validators when `state` is given.

    A success clears the error and the failure count; a failure increments it and keeps the
    validators, so the next crawl fetches the index again. A 304 is a success that clears nothing: it
    says the index did not change, not that a broken one works now (a failing source is fetched
    unconditionally, so its recovery is a real 200 that parses).

    `entries` is how many entries the index listed when this crawl read and parsed it (feed items,
    sitemap URLs and child sitemaps, listing links; before any was found already seen): 0 is what
    makes a source `empty`. None (a 304, an unchanged body, a failure) keeps the stored count, since
    nothing was listed anew; a failure keeps it even when given. The first read that lists nothing
    stamps `empty_since`; reads that list nothing more keep the stamp, and one that lists entries
    clears it.
    """
    now = utc_now()
    if ok and http_status == 304:
        with db.conn:
            updated = db.execute(
                "UPDATE sources SET last_attempt = ?, last_status = ?, "
                "last_success = CASE WHEN COALESCE(consecutive_failures, 0) = 0 THEN ? ELSE last_success END "
                "WHERE name = ?", [now, http_status, now, name])
            if updated.rowcount:
                return
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO sources (name, url, kind, consecutive_failures, articles_total) "
            "VALUES (?, ?, ?, 0, 0)",
            [name, url, kind],
        )
        if ok:
            db.execute(
                "UPDATE sources SET url = ?, kind = ?, last_attempt = ?, last_success = ?, last_status = ?, "
                "consecutive_failures = 0, failing_since = NULL, error_class = NULL, error = NULL, "
                "articles_total = COALESCE(articles_total, 0) + ?, last_entries = COALESCE(?, last_entries), "
                "empty_since = CASE WHEN ? = 0 THEN COALESCE(empty_since, ?) WHEN ? > 0 THEN NULL "
                "ELSE empty_since END, "
                "last_new_article = CASE WHEN ? > 0 THEN ? ELSE last_new_article END WHERE name = ?",
                [url, kind, now, now, http_status, new_articles, entries, entries, now, entries, new_articles, now,
                 name],
            )
        else:
            db.execute(
                "UPDATE sources SET url = ?, kind = ?, last_attempt = ?, last_status = ?, "
                "consecutive_failures = COALESCE(consecutive_failures, 0) + 1, "
                "failing_since = COALESCE(failing_since, ?), error_class = ?, error = ?, "
                "articles_total = COALESCE(articles_total, 0) + ? WHERE name = ?",
                [url, kind, now, http_status, now, error_class, (error or "")[:500], new_articles, name],
            )
        if state is not None:
            db.execute(
                "UPDATE sources SET etag = ?, last_modified = ?, body_hash = ? WHERE name = ?",
                [state.etag, state.last_modified, state.body_hash, name],
            )


def _cutoff(days: float) -> str:
    return iso_ago(timedelta(days=days))


def seen_urls(db: sqlite_utils.Database, urls: Iterable[str], days: float = 30) -> set[str]:
    """Which of these canonical URLs were fetched within `days`, or are stored as articles."""
    wanted = list(dict.fromkeys(urls))
    found: set[str] = set()
    cutoff = _cutoff(days)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        found.update(
            row[0]
            for row in db.execute(
                f"SELECT url FROM seen_urls WHERE url IN ({marks}) AND first_seen >= ? "
                f"UNION SELECT url FROM articles WHERE url IN ({marks})",
                [*chunk, cutoff, *chunk],
            )
        )
    return found


def mark_seen(db: sqlite_utils.Database, urls: Iterable[str], source: str) -> None:
    """Remember canonical URLs as fetched now, so later crawls skip them."""
    now = utc_now()
    with db.conn:
        db.conn.executemany(
            "INSERT INTO seen_urls (url, source, first_seen) VALUES (?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET first_seen = excluded.first_seen",
            [(url, source, now) for url in dict.fromkeys(urls)],
        )


def store_articles(db: sqlite_utils.Database, records: Sequence[dict[str, Any]]) -> list[int | None]:
    """Insert articles and mark their URLs (and `seen_as` variants) seen, in one transaction.

    Args:
        records: `insert_article()` records; an optional `seen_as` list holds the other URLs
            (feed link, redirect hops, AMP variant) that lead to the same article.

    Returns:
        For each record, the new row id, or None when its URL was already stored.
    """
    ids: list[int | None] = []
    now = utc_now()
    with db.conn:
        for record in records:
            row = dict(record)
            variants = [row["url"], *row.pop("seen_as", [])]
            for key in ("authors", "tags"):
                if not isinstance(row.get(key), str):
                    row[key] = json.dumps(list(row.get(key) or []), ensure_ascii=False)
            row.setdefault("fetched_at", now)
            row["extracted"] = int(bool(row.get("extracted", True)))
            cursor = db.conn.execute(
                "INSERT OR IGNORE INTO articles ({cols}) VALUES ({marks})".format(
                    cols=", ".join(f"[{c}]" for c in row), marks=", ".join("?" for _ in row)
                ),
                list(row.values()),
            )
            ids.append(cursor.lastrowid if cursor.rowcount else None)
            db.conn.executemany(
                "INSERT INTO seen_urls (url, source, first_seen) VALUES (?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET first_seen = excluded.first_seen",
                [(url, row["source"], now) for url in dict.fromkeys(variants)],
            )
    return ids


def prune_seen_urls(db: sqlite_utils.Database, days: float) -> int:
    """Forget seen URLs older than `days` (stored articles stay). Returns the number removed."""
    with db.conn:
        cursor = db.conn.execute("DELETE FROM seen_urls WHERE first_seen < ?", [_cutoff(days)])
    return cursor.rowcount


def prune_article_text(db: sqlite_utils.Database, days: float) -> int:
    """Drop the body text of articles fetched more than `days` ago; title, URL and metadata stay.

    Matches and stories refer to articles by id, so they survive; the FTS index follows the update
    through its triggers. Returns the number of articles emptied.
    """
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE articles SET text = '' WHERE fetched_at < ? AND text != ''", [_cutoff(days)]
        )
    return cursor.rowcount


def compact(db: sqlite_utils.Database) -> None:
    """Reclaim free pages and refresh the query planner's statistics (run rarely: it rewrites the file)."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.execute("VACUUM")
    db.execute("PRAGMA optimize")


def source_health(db: sqlite_utils.Database) -> list[SourceHealth]:
    """Every crawled source's health, failing sources first, then by name.

    `articles_per_day` is the mean over the last 7 days of articles stored from the source.
    """
    week = _cutoff(7)
    per_source = {
        row["source"]: row["n"]
        for row in db.query(
            "SELECT source, COUNT(*) AS n FROM articles WHERE fetched_at >= ? GROUP BY source", [week]
        )
    }
    rows = db.query("SELECT * FROM sources ORDER BY consecutive_failures > 0 DESC, name")
    return [
        SourceHealth(
            name=row["name"],
            kind=row["kind"] or "",
            url=row["url"] or "",
            last_attempt=row["last_attempt"],
            last_success=row["last_success"],
            last_status=row["last_status"],
            consecutive_failures=row["consecutive_failures"] or 0,
            failing_since=row["failing_since"],
            error_class=row["error_class"],
            error=row["error"],
            articles_per_day=round(per_source.get(row["name"], 0) / 7, 2),
            articles_total=row["articles_total"] or 0,
            last_new_article=row["last_new_article"],
            disabled_at=row["disabled_at"],
            last_entries=row["last_entries"],
            empty_since=row["empty_since"],
        )
        for row in rows
    ]
