"""Bundles handed back by workers are stored idempotently (issue 15): twice handed back, once stored."""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from crawler import open_store
from crawler.handoff import ingest_bundle, read_bundle, source_context
from tests.crawler.sites import conditional, rss
from tests.loopback import LoopbackHTTPServer


def _bundle(urls: list[str], status: str = "ok", state: list[str | None] | None = None) -> bytes:
    articles = [{"url": url, "source": "feed-a", "title": f"Title {i}", "text": "Body text of the article.",
                 "summary": "", "published": None, "fetched_at": "2026-12-02T08:00:00+00:00", "authors": "[]",
                 "language": "en", "image": None, "extracted": 1, "tags": "[]", "fingerprint": f"fp{i}"}
                for i, url in enumerate(urls)]
    report = {"source": "feed-a", "new_articles": len(urls), "fetched": len(urls), "failed": 0, "status": status,
              "error_class": None if status != "failed" else "server", "error": None, "duration": 1.0, "note": None}
    payload = {"version": 2, "articles": articles, "seen": [["https://a.example/feed-link", "feed-a"]],
               "sources": [{"name": "feed-a", "kind": "feed", "url": "https://a.example/rss", "report": report,
                            "http_status": 200 if status != "failed" else 503,
                            "state": state if status == "failed" else ['"v2"', None, "abc"]}]}
    return zlib.compress(json.dumps(payload).encode())


def test_a_bundle_handed_back_twice_stores_each_article_once(tmp_path: Path) -> None:
    db = open_store(tmp_path / "brain.db")
    bundle = _bundle(["https://a.example/news/1", "https://a.example/news/2"])
    first = ingest_bundle(db, bundle)
    second = ingest_bundle(db, bundle)
    overlapping = ingest_bundle(db, _bundle(["https://a.example/news/2", "https://a.example/news/3"]))
    assert (first.new_articles, second.new_articles, overlapping.new_articles) == (2, 0, 1)
    assert [r[0] for r in db.execute("SELECT url FROM articles ORDER BY id")] == [
        "https://a.example/news/1", "https://a.example/news/2", "https://a.example/news/3"]
    row = next(db.query("SELECT etag, body_hash, articles_total, consecutive_failures FROM sources"))
    assert row == {"etag": '"v2"', "body_hash": "abc", "articles_total": 3, "consecutive_failures": 0}


def test_the_next_batch_gets_the_source_state_and_what_it_has_seen(tmp_path: Path) -> None:
    from crawler import SourceSpec

    db = open_store(tmp_path / "brain.db")
    ingest_bundle(db, _bundle(["https://a.example/news/1"]))
    context = source_context(db, [SourceSpec(name="feed-a", kind="feed", url="https://a.example/rss")], 30)
    assert context["feed-a"]["etag"] == '"v2"' and context["feed-a"]["body_hash"] == "abc"
    assert set(context["feed-a"]["seen"]) == {"https://a.example/news/1", "https://a.example/feed-link"}


def test_a_failing_source_is_fetched_in_full_and_a_failure_keeps_its_validators(tmp_path: Path) -> None:
    from crawler import SourceSpec

    db = open_store(tmp_path / "brain.db")
    ingest_bundle(db, _bundle(["https://a.example/news/1"]))
    ingest_bundle(db, _bundle([], status="failed"))  # the worker's run replaced no validator
    row = next(db.query("SELECT etag, body_hash, consecutive_failures FROM sources"))
    assert row == {"etag": '"v2"', "body_hash": "abc", "consecutive_failures": 1}
    context = source_context(db, [SourceSpec(name="feed-a", kind="feed", url="https://a.example/rss")], 30)
    assert (context["feed-a"]["etag"], context["feed-a"]["body_hash"]) == (None, None)  # no conditional GET


def test_a_bundle_from_other_code_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="same newswatch version"):
        read_bundle(zlib.compress(json.dumps({"version": 99}).encode()))


_WORKER = """
import json, sys
from pathlib import Path
from crawler.handoff import crawl_to_bundle
from crawler.items import SourceSpec
from crawler.options import CrawlOptions
sources = [SourceSpec(**spec) for spec in json.loads(sys.argv[1])]
options = CrawlOptions(download_delay=0.0, autothrottle=False, extraction_workers=1)
Path(sys.argv[4]).write_bytes(crawl_to_bundle(sources, json.loads(sys.argv[2]), options, Path(sys.argv[3])))
"""


def _worker_crawl(sources: list[Any], context: dict[str, Any], folder: Path) -> bytes:
    """One batch crawled the way a worker does (`crawl_to_bundle`), in a fresh process (a fresh reactor)."""
    import subprocess
    import sys

    folder.mkdir()
    specs = json.dumps([dataclasses.asdict(s) for s in sources])
    out = folder / "bundle"
    done = subprocess.run([sys.executable, "-c", _WORKER, specs, json.dumps(context), str(folder / "scratch.db"),
                           str(out)], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return out.read_bytes()


def test_a_worker_s_empty_feed_shows_empty_on_the_brain_and_a_304_keeps_it(
    tmp_path: Path, site: LoopbackHTTPServer
) -> None:
    from crawler import SourceSpec, source_health

    site.route("/feed.xml", conditional(rss([]), '"v1"'))
    source = SourceSpec(name="silent", kind="feed", url=site.url("/feed.xml"))
    db = open_store(tmp_path / "brain.db")
    for round_ in range(2):
        context = source_context(db, [source], 30)
        ingest_bundle(db, _worker_crawl([source], context, tmp_path / f"round{round_}"))
        (health,) = source_health(db)
        assert (health.last_entries, health.state()) == (0, "empty")
    assert site.requests_to("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'  # the second round: a 304
    assert health.last_status == 304


def test_an_older_worker_s_bundle_without_a_count_keeps_the_brain_s(tmp_path: Path) -> None:
    db = open_store(tmp_path / "brain.db")
    payload = read_bundle(_bundle(["https://a.example/news/1"]))
    payload["sources"][0]["entries"] = 0
    ingest_bundle(db, payload)
    del payload["sources"][0]["entries"]
    ingest_bundle(db, payload)
    assert next(db.query("SELECT last_entries FROM sources"))["last_entries"] == 0
