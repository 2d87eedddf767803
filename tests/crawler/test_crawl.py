"""End-to-end crawls on a loopback site: what gets fetched, stored and recorded as source health."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crawler.items import SourceSpec
from crawler.store import get_article, iter_articles_after, open_store, source_health
from tests.crawler.sites import article_html, conditional, rss, run_crawl
from tests.loopback import LoopbackHTTPServer, Response


def _publish(site: LoopbackHTTPServer, count: int, *, feed_path: str = "/feed.xml") -> list[str]:
    items = []
    for i in range(count):
        path = f"/news/2026/03/story-{i}"
        site.add(path, article_html(f"Coast guard story {i}", f"Unique body sentence number {i}."))
        items.append(
            (site.url(path) + "?utm_source=rss&utm_medium=feed", f"Feed title {i}", f"Feed summary {i}")
        )
    site.add(feed_path, rss(items), "application/rss+xml")
    return [f"/news/2026/03/story-{i}" for i in range(count)]


def _articles(db_path: Path) -> list:
    return list(iter_articles_after(open_store(db_path), 0))


def test_feed_articles_are_extracted_and_stored(site: LoopbackHTTPServer, db_path: Path) -> None:
    paths = _publish(site, 3)
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"), tags=("region:sea",))])
    assert (report["status"], report["new_articles"], report["fetched"], report["failed"]) == ("ok", 3, 3, 0)
    articles = {a.url: a for a in _articles(db_path)}
    assert set(articles) == {site.url(p) for p in paths}  # tracking parameters gone
    story = articles[site.url(paths[1])]
    assert story.title == "Coast guard story 1"
    assert "Unique body sentence number 1." in story.text
    assert (
        "newsletter" not in story.text and "Advertisement" not in story.text and "Section 7" not in story.text
    )
    assert story.published == "2026-03-02T08:30:00+08:00"
    assert story.extracted and story.language == "en" and story.tags == ("region:sea",)
    assert story.summary == "Feed summary 1"
    agent = site.requests_to(paths[0])[0].headers["user-agent"]
    assert agent.startswith("newswatch/0.1 (+https://github.com/newswatch)")
    db = open_store(db_path)
    assert db.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH 'guard'").fetchone()[0] == 3
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_crawl_fetches_no_article_and_stores_nothing(site: LoopbackHTTPServer, db_path: Path) -> None:
    paths = _publish(site, 3)
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    # the feed changes (new order, new title text) but lists the same articles: still nothing to fetch
    site.add(
        "/feed.xml",
        rss([(site.url(p) + "#x", "Retitled", "s") for p in reversed(paths)]),
        "application/rss+xml",
    )
    (report,) = run_crawl(db_path, [source])
    assert (report["status"], report["new_articles"], report["fetched"]) == ("ok", 0, 0)
    assert all(len(site.requests_to(p)) == 1 for p in paths)
    assert len(_articles(db_path)) == 3


def test_new_item_in_the_feed_is_the_only_fetch(site: LoopbackHTTPServer, db_path: Path) -> None:
    paths = _publish(site, 2)
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    site.add("/news/late", article_html("Late story", "A late development in the strait."))
    items = [(site.url(p), "t", "s") for p in paths] + [(site.url("/news/late"), "Late story", "s")]
    site.add("/feed.xml", rss(items), "application/rss+xml")
    (report,) = run_crawl(db_path, [source])
    assert (report["new_articles"], report["fetched"]) == (1, 1)
    assert [len(site.requests_to(p)) for p in paths] == [1, 1]


def test_etag_304_means_one_request_and_nothing_else(site: LoopbackHTTPServer, db_path: Path) -> None:
    _publish(site, 2)
    body = site.respond(type("R", (), {"path": "/feed.xml"})()).body  # the feed just published
    site.route("/feed.xml", conditional(body, '"v1"'))
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    before = len(site.requests)
    (report,) = run_crawl(db_path, [source])
    assert report["status"] == "unchanged" and report["fetched"] == 0
    feed_requests = site.requests_to("/feed.xml")
    assert feed_requests[-1].headers.get("if-none-match") == '"v1"'
    # robots.txt is cached per process; in a fresh process it is asked again, then only the feed
    assert [r.path for r in site.requests[before:]] == ["/robots.txt", "/feed.xml"]
    assert source_health(open_store(db_path))[0].last_status == 304


def test_unchanged_body_hash_fetches_no_articles(site: LoopbackHTTPServer, db_path: Path) -> None:
    paths = _publish(site, 2)
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    (report,) = run_crawl(db_path, [source])  # no ETag/Last-Modified from this server: the hash decides
    assert report["status"] == "unchanged"
    assert [len(site.requests_to(p)) for p in paths] == [1, 1]


def test_url_variants_in_one_feed_make_one_article(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/news/one", article_html("One story", "The only story."))
    variants = [
        "/news/one",
        "/news/one/",
        "/news/one?utm_campaign=a",
        "/news/one#top",
        "/news/one/index.html",
    ]
    site.add("/news/one/index.html", article_html("One story", "The only story."))
    site.add("/feed.xml", rss([(site.url(v), "One story", "s") for v in variants]), "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert report["new_articles"] == 1 and report["fetched"] == 1
    assert len(_articles(db_path)) == 1


def test_amp_page_pointing_to_its_canonical_and_redirects_are_recorded(
    site: LoopbackHTTPServer, db_path: Path
) -> None:
    canonical = site.url("/news/ship")
    site.add("/news/ship/amp", article_html("Ship story", "An AMP copy.", canonical=canonical))
    site.route("/r/ship", lambda _r: Response(301, b"", {"Location": site.url("/news/ship2")}))
    site.add("/news/ship2", article_html("Second ship", "A moved story."))
    items = [(site.url("/news/ship/amp"), "Ship", "s"), (site.url("/r/ship"), "Ship 2", "s")]
    site.add("/feed.xml", rss(items), "application/rss+xml")
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    assert {a.url for a in _articles(db_path)} == {canonical, site.url("/news/ship2")}
    # a later feed lists the canonical URL and the redirecting one: both are known, nothing is fetched
    site.add(
        "/feed.xml", rss([(canonical, "Ship", "s"), (site.url("/r/ship"), "x", "y")]), "application/rss+xml"
    )
    (report,) = run_crawl(db_path, [source])
    assert report["fetched"] == 0 and len(site.requests_to("/r/ship")) == 1


def test_malformed_feed_is_a_recorded_failure(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/feed.xml", b"<html><body>We are updating our site</body></html>", "text/html")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert report["status"] == "failed" and report["error_class"] == "broken"
    assert site.url("/feed.xml") in report["error"]
    (health,) = source_health(open_store(db_path))
    assert (health.error_class, health.consecutive_failures, health.last_success) == ("broken", 1, None)


def test_feed_404_twice_counts_two_failures_then_recovers(site: LoopbackHTTPServer, db_path: Path) -> None:
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    run_crawl(db_path, [source])
    (report,) = run_crawl(db_path, [source])
    assert (report["status"], report["error_class"]) == ("failed", "gone")
    (health,) = source_health(open_store(db_path))
    assert (health.consecutive_failures, health.last_status) == (2, 404)
    _publish(site, 1)
    (report,) = run_crawl(db_path, [source])
    (health,) = source_health(open_store(db_path))
    assert report["status"] == "ok" and health.consecutive_failures == 0 and health.error_class is None
    assert health.articles_total == 1 and health.articles_per_day > 0


@pytest.mark.parametrize(
    ("status", "reason"), [(403, "blocked"), (429, "blocked"), (500, "server"), (410, "gone")]
)
def test_http_errors_on_the_feed_get_a_reason_class(
    site: LoopbackHTTPServer, db_path: Path, status: int, reason: str
) -> None:
    site.add("/feed.xml", b"no", "text/plain", status=status, headers={"Retry-After": "3600"})
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))], retry_times=1)
    assert (report["status"], report["error_class"]) == ("failed", reason)


def test_non_html_and_404_articles(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/news/report.pdf", b"%PDF-1.4 binary stuff", "application/pdf")
    site.add("/news/ok", article_html("Fine story", "Readable text here."))
    items = [
        (site.url("/news/report.pdf"), "Navy report", "The navy's annual report on the frigate deal."),
        (site.url("/news/missing"), "Missing", "Gone"),
        (site.url("/news/ok"), "Fine story", "s"),
    ]
    site.add("/feed.xml", rss(items), "application/rss+xml")
    source = SourceSpec("bugle", "feed", site.url("/feed.xml"))
    (report,) = run_crawl(db_path, [source])
    assert (report["status"], report["new_articles"], report["fetched"], report["failed"]) == ("ok", 2, 3, 1)
    articles = {a.url: a for a in _articles(db_path)}
    pdf = articles[site.url("/news/report.pdf")]
    assert (pdf.extracted, pdf.title, pdf.text) == (
        False,
        "Navy report",
        "The navy's annual report on the frigate deal.",
    )
    assert articles[site.url("/news/ok")].extracted
    # the 404 is remembered: a changed feed listing it again does not fetch it again
    site.add("/feed.xml", rss([*items, (site.url("/news/ok2"), "x", "y")]), "application/rss+xml")
    run_crawl(db_path, [source])
    assert len(site.requests_to("/news/missing")) == 1


def test_robots_txt_is_obeyed(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/private/feed.xml", rss([]), "application/rss+xml")
    site.add("/news/a", article_html("A", "Allowed."))
    site.add("/private/b", article_html("B", "Forbidden."))
    site.add("/feed.xml", rss([(site.url("/news/a"), "A", ""), (site.url("/private/b"), "B", "")]))
    reports = run_crawl(
        db_path,
        [
            SourceSpec("open", "feed", site.url("/feed.xml")),
            SourceSpec("closed", "feed", site.url("/private/feed.xml")),
        ],
    )
    assert reports[0]["new_articles"] == 1 and reports[0]["failed"] == 1
    assert (reports[1]["status"], reports[1]["error_class"]) == ("failed", "blocked")
    assert site.requests_to("/private/b") == [] and site.requests_to("/private/feed.xml") == []


def test_sitemap_source_follows_recent_entries_only(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/news/new", article_html("New", "Fresh news."))
    site.add("/news/old", article_html("Old", "Stale news."))
    urlset = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{site.url('/news/new')}</loc><news:news><news:publication_date>2099-01-01T10:00:00+08:00"
        "</news:publication_date><news:title>New</news:title></news:news></url>"
        f"<url><loc>{site.url('/news/old')}</loc><lastmod>2001-01-01</lastmod></url></urlset>"
    )
    site.add("/news-sitemap.xml.gz", gzip.compress(urlset.encode()), "application/gzip")
    index = (
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>'
        f"{site.url('/news-sitemap.xml.gz')}</loc></sitemap></sitemapindex>"
    )
    site.add("/sitemap.xml", index, "application/xml")
    (report,) = run_crawl(db_path, [SourceSpec("maps", "sitemap", site.url("/sitemap.xml"))])
    assert (report["status"], report["new_articles"]) == ("ok", 1)
    assert site.requests_to("/news/old") == []
    (article,) = _articles(db_path)
    assert article.url == site.url("/news/new") and article.title == "New"


def test_listing_source_with_a_link_rule(site: LoopbackHTTPServer, db_path: Path) -> None:
    for i in range(2):
        site.add(f"/world/asia/story-{i}", article_html(f"Asia {i}", f"Asia body {i}."))
    page = (
        "<html><body><nav><a href='/about'>About</a><a href='/world/asia'>Asia</a></nav>"
        "<div class='headlines'><a href='/world/asia/story-0'>Asia 0</a>"
        "<a href='/world/asia/story-1?ref=home'>Asia 1</a></div>"
        "<div class='promo'><a href='/world/asia/story-0'>dupe</a></div></body></html>"
    )
    site.add("/world/asia", page)
    source = SourceSpec(
        "asia",
        "listing",
        site.url("/world/asia"),
        link_selector=".headlines a",
        link_pattern=r"/world/asia/story-\d+",
    )
    (report,) = run_crawl(db_path, [source])
    assert report["new_articles"] == 2 and report["fetched"] == 2
    assert site.requests_to("/about") == []
    assert {a.title for a in _articles(db_path)} == {"Asia 0", "Asia 1"}


def test_stored_article_is_readable_by_id(site: LoopbackHTTPServer, db_path: Path) -> None:
    _publish(site, 1)
    run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    (first,) = _articles(db_path)
    assert get_article(open_store(db_path), first.id).url == first.url
