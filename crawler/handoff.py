"""Hand a crawl over to another process and its results back: the crawler's side of the workers.

With `workers:` on, the daemon (the brain) stays the only writer of the SQLite store and crawls
nothing itself; worker processes on other machines fetch and extract. This module is what both sides
need from the crawler, so the crawling and extraction code runs unchanged on a worker:

- `source_context()` (brain): what a worker needs to crawl a source like the daemon would — its
  conditional-GET validators (ETag, Last-Modified, body hash) and the URLs it stored or settled
  recently, so unchanged feeds cost a 304 and known articles are not fetched again.
- `crawl_to_bundle()` (worker): seeds a scratch SQLite file with that context, runs the ordinary
  `crawl_blocking()` into it, and packs what is new — articles, seen URLs, each source's outcome,
  validators and the number of entries its index listed — into a `bytes` bundle (zlib-compressed JSON).
- `ingest_bundle()` (brain): stores a bundle idempotently: an article is keyed by its canonical URL
  (`INSERT OR IGNORE`, as `store_articles()` does), so a bundle handed back twice, or two workers'
  bundles carrying one article, store it once; each source's health, validators and entry count are
  recorded with `record_source_result()`.

A URL first seen by another source is not in a worker's context; the worker fetches it again and the
ingest drops the copy (one extra request, never a second article).
Settings read: `seen_url_days` and the sources' `max_age_days` (passed in).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler.items import SourceSpec
from crawler.options import CrawlOptions
from crawler.store import SourceState, load_source_state, open_store, record_source_result, store_articles

logger = logging.getLogger(__name__)

__all__ = ["IngestReport", "crawl_to_bundle", "ingest_bundle", "read_bundle", "source_context"]

# Seen URLs sent per source: enough for any index (feeds list 10-100 items, sitemaps up to 1,000).
_MAX_SEEN_PER_SOURCE = 5000
_BUNDLE_VERSION = 2


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What storing one bundle did.

    Attributes:
        articles: articles in the bundle.
        new_articles: of those, stored now (the rest were stored before: a repeat or a duplicate).
        sources: source name -> its crawl status (`ok`, `unchanged`, `failed`).
        failed: sources whose crawl failed.
        new_per_source: source name -> articles stored now from it.
    """

    articles: int
    new_articles: int
    sources: dict[str, str]
    failed: int
    new_per_source: dict[str, int]


def source_context(db: sqlite_utils.Database, sources: Iterable[SourceSpec], seen_url_days: float) -> dict[str, Any]:
    """What a worker needs to crawl `sources` as the daemon would (brain side; read only).

    Args:
        db: the daemon's store.
        sources: the sources of one batch.
        seen_url_days: `crawl.seen_url_days`; only URLs seen within the source's window are sent.

    Returns:
        A JSON-able `{source name: {"etag", "last_modified", "body_hash", "seen": [url, ...]}}`.
    """
    context: dict[str, Any] = {}
    now = datetime.now(UTC)
    for source in sources:
        state = load_source_state(db, source.name)  # empty for a failing source: it is fetched in full
        # Entries older than max_age_days are dropped by the spider anyway; a day's margin for clocks.
        days = min(seen_url_days, source.max_age_days + 1)
        cutoff = (now - timedelta(days=days)).isoformat(timespec="seconds")
        seen = [row[0] for row in db.execute(
            "SELECT url FROM seen_urls WHERE source = ? AND first_seen >= ? "
            "UNION SELECT url FROM articles WHERE source = ? AND fetched_at >= ? LIMIT ?",
            [source.name, cutoff, source.name, cutoff, _MAX_SEEN_PER_SOURCE])]
        context[source.name] = {"etag": state.etag, "last_modified": state.last_modified,
                                "body_hash": state.body_hash, "seen": seen}
    return context


def _seed(db: sqlite_utils.Database, sources: Sequence[SourceSpec], context: dict[str, Any]) -> set[str]:
    seeded: set[str] = set()
    with db.conn:
        for source in sources:
            known = context.get(source.name) or {}
            db.conn.execute(
                "INSERT INTO sources (name, url, kind, etag, last_modified, body_hash, consecutive_failures, "
                "articles_total) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                [source.name, source.display_url, source.kind, known.get("etag"), known.get("last_modified"),
                 known.get("body_hash")])
            urls = list(dict.fromkeys(known.get("seen") or ()))
            seeded.update(urls)
            db.conn.executemany(
                "INSERT OR IGNORE INTO seen_urls (url, source, first_seen) VALUES (?, ?, ?)",
                [(url, source.name, datetime.now(UTC).isoformat(timespec="seconds")) for url in urls])
    return seeded


def crawl_to_bundle(sources: Sequence[SourceSpec], context: dict[str, Any], options: CrawlOptions,
                    scratch: Path) -> bytes:
    """Crawl `sources` once into a scratch store and pack what is new (worker side).

    Runs `crawl_blocking()`, so call it once per process (an RQ work-horse is a fresh process).

    Args:
        sources: the batch's sources (from the worker's own config: credentials never travel).
        context: `source_context()` from the brain.
        options: the crawl options.
        scratch: a path for the scratch SQLite file (must not exist; the caller removes it).

    Returns:
        The bundle for `ingest_bundle()`.
    """
    from crawler.runner import crawl_blocking

    db = open_store(scratch)
    try:
        seeded = _seed(db, sources, context)
    finally:
        db.close()
    reports = crawl_blocking(sources, scratch, options) if sources else []
    db = open_store(scratch)
    try:
        rows = db.query("SELECT * FROM articles ORDER BY id")
        articles = [{k: v for k, v in row.items() if k != "id"} for row in rows]
        seen = [(row["url"], row["source"]) for row in db.query("SELECT url, source FROM seen_urls")
                if row["url"] not in seeded]
        outcome = {row["name"]: row for row in db.query("SELECT * FROM sources")}
    finally:
        db.close()
    stored = {a["url"] for a in articles}
    payload = {
        "version": _BUNDLE_VERSION,
        "articles": articles,
        # URLs that lead to a stored article (feed link, redirects) and permanently failed ones.
        "seen": [pair for pair in seen if pair[0] not in stored],
        "sources": [
            {
                "name": source.name,
                "kind": source.kind,
                "url": source.display_url,
                "report": dataclasses.asdict(report),
                "http_status": outcome.get(source.name, {}).get("last_status"),
                # Entries the index listed when this crawl parsed it; None (the scratch row starts
                # without a count) after a 304, an unchanged body or a failure: the brain keeps its own.
                "entries": outcome.get(source.name, {}).get("last_entries"),
                # The validators only when this crawl replaced them (the runner keeps them otherwise).
                "state": _new_state(outcome.get(source.name, {}), context.get(source.name) or {}),
            }
            for source, report in zip(sources, reports, strict=True)
        ],
    }
    return zlib.compress(json.dumps(payload, ensure_ascii=False).encode("utf-8"), 3)


def _new_state(row: dict[str, Any], seeded: dict[str, Any]) -> list[str | None] | None:
    keys = ("etag", "last_modified", "body_hash")
    now = [row.get(k) for k in keys]
    return now if now != [seeded.get(k) for k in keys] else None


def read_bundle(bundle: bytes) -> dict[str, Any]:
    """Unpack a bundle.

    Raises:
        ValueError: not a bundle of this version (a worker running other code than the brain).
    """
    try:
        payload = json.loads(zlib.decompress(bundle))
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"unreadable worker bundle ({len(bundle)} bytes): {exc}") from exc
    if not isinstance(payload, dict) or payload.get("version") != _BUNDLE_VERSION:
        raise ValueError(f"worker bundle version {payload.get('version') if isinstance(payload, dict) else '?'} "
                         f"is not {_BUNDLE_VERSION}: run the same newswatch version on the workers as on the brain")
    return payload


def ingest_bundle(db: sqlite_utils.Database, bundle: bytes | dict[str, Any]) -> IngestReport:
    """Store a worker's bundle in the daemon's store, idempotently (brain side).

    Args:
        db: the daemon's store.
        bundle: from `crawl_to_bundle()`, packed or already read.

    Returns:
        What was stored.

    Raises:
        ValueError: an unreadable bundle.
    """
    payload = read_bundle(bundle) if isinstance(bundle, bytes) else bundle
    records = [{**row, "seen_as": []} for row in payload["articles"]]
    ids = store_articles(db, records) if records else []
    new_per_source: dict[str, int] = {}
    for record, row_id in zip(records, ids, strict=True):
        if row_id is not None:
            new_per_source[record["source"]] = new_per_source.get(record["source"], 0) + 1
    if payload["seen"]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with db.conn:
            db.conn.executemany(
                "INSERT INTO seen_urls (url, source, first_seen) VALUES (?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET first_seen = excluded.first_seen",
                [(url, source, now) for url, source in payload["seen"]])
    statuses: dict[str, str] = {}
    for item in payload["sources"]:
        report = item["report"]
        ok = report["status"] != "failed"
        statuses[item["name"]] = report["status"]
        record_source_result(
            db, name=item["name"], kind=item["kind"], url=item["url"], ok=ok, http_status=item["http_status"],
            new_articles=new_per_source.get(item["name"], 0), error_class=report["error_class"],
            error=report["error"], state=SourceState(*item["state"]) if item.get("state") else None,
            entries=item.get("entries"),  # absent from an older worker's bundle: the count is kept
        )
    new = sum(new_per_source.values())
    failed = sum(1 for s in statuses.values() if s == "failed")
    return IngestReport(len(records), new, statuses, failed, new_per_source)
