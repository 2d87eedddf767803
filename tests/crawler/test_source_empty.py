"""A source whose index answers but lists nothing is `empty`, not `ok`: real crawls of loopback indexes.

The count that decides it is what the index itself listed when last read and parsed
(`sources.last_entries`), not how many articles were new: a feed of already-stored items is `ok`. A 304,
an unchanged body or a failure lists nothing anew, so the count is kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.items import SourceKind, SourceSpec
from crawler.store import SourceHealth, open_store, source_health
from tests.crawler.sites import article_html, conditional, rss, run_crawl
from tests.loopback import LoopbackHTTPServer

EMPTY_SITEMAP = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
EMPTY_SECTION = b"<html><body><h1>World</h1><p>No stories yet.</p></body></html>"


def _health(db_path: Path) -> dict[str, SourceHealth]:
    db = open_store(db_path)
    try:
        return {h.name: h for h in source_health(db)}
    finally:
        db.close()


def _stories(site: LoopbackHTTPServer, count: int) -> bytes:
    """Publish `count` article pages and return a feed listing them."""
    for i in range(count):
        site.add(f"/news/story-{i}", article_html(f"Coast guard story {i}", f"Unique body sentence {i}."))
    return rss([(site.url(f"/news/story-{i}"), f"Story {i}", "s") for i in range(count)])


def test_a_feed_with_no_items_is_empty_and_one_with_items_is_ok(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/empty.xml", rss([]), "application/rss+xml")
    site.add("/full.xml", _stories(site, 3), "application/rss+xml")
    reports = run_crawl(db_path, [SourceSpec("silent", "feed", site.url("/empty.xml")),
                                  SourceSpec("bugle", "feed", site.url("/full.xml"))])
    assert [(r["status"], r["error_class"]) for r in reports] == [("ok", None), ("ok", None)]
    health = _health(db_path)
    assert (health["silent"].state(), health["silent"].last_entries) == ("empty", 0)
    assert (health["bugle"].state(), health["bugle"].last_entries) == ("ok", 3)
    assert health["silent"].state_words() == ("empty", "its feed listed no entries when last read")
    assert health["bugle"].state_words() == ("ok", None)


@pytest.mark.parametrize(("kind", "body", "content_type", "index"), [
    ("sitemap", EMPTY_SITEMAP, "application/xml", "sitemap"),
    ("listing", EMPTY_SECTION, "text/html; charset=utf-8", "section page"),
])
def test_an_empty_sitemap_or_section_page_is_empty_too(
    site: LoopbackHTTPServer, db_path: Path, kind: SourceKind, body: bytes, content_type: str, index: str
) -> None:
    site.add("/index", body, content_type)
    spec = SourceSpec("silent", kind, site.url("/index"), link_pattern="/news/" if kind == "listing" else None)
    (report,) = run_crawl(db_path, [spec])
    assert report["error_class"] is None
    assert _health(db_path)["silent"].state_words() == ("empty", f"its {index} listed no entries when last read")


def test_a_feed_of_stories_already_stored_is_ok_not_empty(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/feed.xml", _stories(site, 2), "application/rss+xml")
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    # The feed changes (so it is parsed again) but lists the same two stories: nothing new, still listed.
    site.add("/feed.xml", rss([(site.url(f"/news/story-{i}"), f"Retitled {i}", "s") for i in (1, 0)]),
             "application/rss+xml")
    (report,) = run_crawl(db_path, [source])
    assert (report["status"], report["new_articles"]) == ("ok", 0)
    assert (_health(db_path)["bugle"].state(), _health(db_path)["bugle"].last_entries) == ("ok", 2)


def test_a_feed_that_stops_listing_items_turns_empty_and_back(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/feed.xml", _stories(site, 2), "application/rss+xml")
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    assert _health(db_path)["bugle"].state() == "ok"
    site.add("/feed.xml", rss([]), "application/rss+xml")  # still 200, still a valid feed: no items
    (report,) = run_crawl(db_path, [source])
    assert (report["status"], report["error_class"]) == ("ok", None)
    assert (_health(db_path)["bugle"].state(), _health(db_path)["bugle"].last_entries) == ("empty", 0)
    first_empty = _health(db_path)["bugle"].empty_since
    assert first_empty is not None
    # Another empty read (a new body, so it is parsed again) keeps the time the emptiness began.
    site.add("/feed.xml", rss([]).replace(b"<channel>", b"<channel><ttl>5</ttl>"), "application/rss+xml")
    (report,) = run_crawl(db_path, [source])
    assert report["status"] == "ok"
    assert (_health(db_path)["bugle"].last_entries, _health(db_path)["bugle"].empty_since) == (0, first_empty)
    site.add("/feed.xml", _stories(site, 1), "application/rss+xml")  # publishing again
    run_crawl(db_path, [source])
    health = _health(db_path)["bugle"]
    assert (health.state(), health.last_entries, health.empty_since) == ("ok", 1, None)


def test_a_304_or_an_unchanged_body_after_an_empty_fetch_keeps_it_empty(
    site: LoopbackHTTPServer, db_path: Path
) -> None:
    site.route("/feed.xml", conditional(rss([]), '"v1"'))
    source = SourceSpec("silent", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    assert _health(db_path)["silent"].state() == "empty"
    (report,) = run_crawl(db_path, [source])
    assert site.requests_to("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    assert report["status"] == "unchanged"
    health = _health(db_path)["silent"]
    assert (health.last_status, health.last_entries, health.state()) == (304, 0, "empty")
    assert health.empty_since is not None  # a 304 lists nothing anew: the run of empty reads goes on
    # No validators from the server now: the same body again is recognised by its hash.
    site.add("/feed.xml", rss([]), "application/rss+xml")
    (report,) = run_crawl(db_path, [source])
    assert report["status"] == "unchanged"
    assert (_health(db_path)["silent"].last_entries, _health(db_path)["silent"].state()) == (0, "empty")


def test_a_304_or_a_failure_keeps_the_count_of_a_feed_with_items(site: LoopbackHTTPServer, db_path: Path) -> None:
    feed = _stories(site, 2)
    site.route("/feed.xml", conditional(feed, '"v1"'))
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    run_crawl(db_path, [source])  # 304
    assert (_health(db_path)["bugle"].last_entries, _health(db_path)["bugle"].state()) == (2, "not modified")
    site.add("/feed.xml", b"<html>maintenance</html>", "text/html")  # 200, but not a feed: broken
    run_crawl(db_path, [source])
    health = _health(db_path)["bugle"]
    assert (health.state(), health.error_class, health.last_entries) == ("failing", "broken", 2)  # kept
