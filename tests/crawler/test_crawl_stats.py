"""Crawl results travel through Scrapy's own channels: typed items to the pipelines, counts in `crawler.stats`.

The spider yields `PageItem`s, `ExtractPipeline` passes `ArticleRecord`s to `StorePipeline`, both
dataclass items; per-source counts and outcomes land in the crawler's stats under
`newswatch/<source>/<field>` (`crawler.crawlstats`), and the runner's reports are built from them.
No module hands state to the spider or reads it back through `crawler.spider`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest
from itemadapter import ItemAdapter

from crawler.crawlstats import source_run, stat_key
from crawler.feeds import FeedEntry
from crawler.items import ArticleRecord, PageItem, SourceSpec
from crawler.store import get_article, open_store, source_health, store_articles
from tests.crawler.sites import article_html, rss, run_crawl
from tests.loopback import LoopbackHTTPServer

ROOT = Path(__file__).resolve().parents[2]


def test_items_are_frozen_dataclasses_with_the_expected_fields() -> None:
    assert [f.name for f in dataclasses.fields(PageItem)] == [
        "source", "tags", "entry", "final_url", "redirect_urls", "body",
    ]
    assert [f.name for f in dataclasses.fields(ArticleRecord)] == [
        "url", "source", "title", "text", "summary", "published", "authors", "language", "image",
        "extracted", "tags", "fingerprint", "seen_as",
    ]
    page = PageItem("bugle", ("region:sea",), FeedEntry("https://news.example/a"), "https://news.example/a")
    record = ArticleRecord("https://news.example/a", "bugle", "Title", "Text")
    for item in (page, record):
        assert ItemAdapter.is_item(item)  # what Scrapy checks before sending an item down the pipelines
        assert dataclasses.fields(item)[0].name in ItemAdapter(item)
        with pytest.raises(dataclasses.FrozenInstanceError):
            item.source = "other"  # type: ignore[misc]
    assert "body" not in repr(PageItem("s", (), FeedEntry("u"), "u", body=b"<html>" * 1000))


def test_article_record_is_what_the_store_takes(tmp_path: Path) -> None:
    db = open_store(tmp_path / "store.db")
    columns = set(db["articles"].columns_dict)
    assert {f.name for f in dataclasses.fields(ArticleRecord)} - {"seen_as"} <= columns
    record = ArticleRecord(
        url="https://news.example/a", source="bugle", title="Shoal standoff", text="Body text.",
        summary="Summary.", published="2026-03-02T08:30:00+08:00", authors=("Jane Reporter",),
        language="en", tags=("region:sea",), fingerprint="abc", seen_as=("https://news.example/a?amp",),
    )
    (row_id,) = store_articles(db, [ItemAdapter(record).asdict()])
    assert row_id is not None
    article = get_article(db, row_id)
    assert (article.url, article.title, article.authors, article.tags, article.extracted) == (
        "https://news.example/a", "Shoal standoff", ("Jane Reporter",), ("region:sea",), True)
    assert store_articles(db, [ItemAdapter(record).asdict()]) == [None]  # the same URL again: not new


def test_crawl_counts_per_source_in_the_crawler_stats_and_reports_them(
    site: LoopbackHTTPServer, db_path: Path, tmp_path: Path
) -> None:
    items = []
    for i in range(3):
        site.add(f"/news/story-{i}", article_html(f"Coast guard story {i}", f"Unique body sentence {i}."))
        items.append((site.url(f"/news/story-{i}"), f"Feed title {i}", "s"))
    items.append((site.url("/news/missing"), "Missing", "404s"))
    items.append(("tag:news.example,2026:1", "Tag", "not http"))
    site.add("/feed.xml", rss(items), "application/rss+xml")
    stats_file = tmp_path / "stats.json"
    reports = run_crawl(
        db_path,
        [SourceSpec("bugle", "feed", site.url("/feed.xml")), SourceSpec("herald", "feed", site.url("/gone.xml"))],
        scrapy_settings={"EXTENSIONS": json.dumps({"tests.crawler.statsfile.StatsToFile": 0}),
                         "NEWSWATCH_TEST_STATS_FILE": str(stats_file)},
    )
    stats = json.loads(stats_file.read_text(encoding="utf-8"))

    def stat(source: str, name: str) -> object:
        return stats.get(stat_key(source, name))

    assert [stat("bugle", n) for n in ("new_articles", "fetched", "failed", "requested", "skipped_schemes")] == [
        3, 4, 1, 4, 1]
    assert stat("bugle", "settled_urls") == [site.url("/news/missing")]  # a 404 is not fetched again
    assert (stat("bugle", "status"), stat("bugle", "validators_ready")) == (None, True)
    assert (stat("herald", "status"), stat("herald", "error_class"), stat("herald", "http_status")) == (
        "failed", "gone", 404)
    assert stat("herald", "fetched") is None  # never counted: no article of it was requested

    by_source = {report["source"]: report for report in reports}
    assert [by_source["bugle"][k] for k in ("status", "new_articles", "fetched", "failed", "note")] == [
        "ok", 3, 4, 1, "1 entries skipped: not http(s)"]
    assert (by_source["herald"]["status"], by_source["herald"]["error_class"]) == ("failed", "gone")
    for name, report in by_source.items():
        from_stats = dataclasses.asdict(source_run(stats, name, started=0.0).report())
        assert {k: v for k, v in report.items() if k not in ("duration", "_wall", "_stderr")} == {
            k: v for k, v in from_stats.items() if k != "duration"}, name
    stored = open_store(db_path).execute("SELECT COUNT(*) FROM articles WHERE source = 'bugle'").fetchone()[0]
    assert stored == stat("bugle", "new_articles")


def test_no_module_reaches_into_the_spider_for_crawl_state() -> None:
    # `crawler.spider` followed by a word character is the `crawler.spiders` package, which is fine.
    pattern = re.compile(r"crawler\.spider\b|\.runs\b|\bruns=")  # also: no `runs` dict handed to the spider
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "crawler").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
    from crawler.spiders.news import NewsSpider

    assert "runs" not in inspect.signature(NewsSpider.__init__).parameters


def test_a_crawl_that_crashes_reports_every_source_failed_as_internal(
    site: LoopbackHTTPServer, db_path: Path
) -> None:
    site.add("/feed.xml", rss([(site.url("/news/a"), "A", "s")]), "application/rss+xml")
    sources = [SourceSpec("bugle", "feed", site.url("/feed.xml")), SourceSpec("herald", "feed", site.url("/feed.xml"))]
    # A pipeline that cannot be loaded makes the crawl itself raise, before its spider opens.
    reports = run_crawl(db_path, sources,
                        scrapy_settings={"ITEM_PIPELINES": json.dumps({"tests.crawler.no_such_module.P": 1})})
    assert [(r["source"], r["status"], r["error_class"], r["fetched"]) for r in reports] == [
        ("bugle", "failed", "internal", 0), ("herald", "failed", "internal", 0)]
    assert "ModuleNotFoundError" in reports[0]["error"]
    assert "crawl of bugle, herald crashed" in reports[0]["_stderr"]
    health = {row.name: row for row in source_health(open_store(db_path))}
    assert (health["bugle"].error_class, health["herald"].consecutive_failures) == ("internal", 1)
    assert site.requests_to("/news/a") == []
