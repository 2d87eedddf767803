"""Sitemaps shaped like other projects' test files: plain text, gzip, entries without `<loc>`."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from crawler.errors import FeedError
from crawler.items import SourceSpec
from crawler.sitemaps import MAX_SITEMAP_URLS, parse_sitemap
from crawler.store import iter_articles_after, open_store
from tests.conftest import CORPUS, need
from tests.crawler.sites import article_html, rss, run_crawl
from tests.loopback import LoopbackHTTPServer

NYT = CORPUS / "feeds" / "advertools" / "news_sitemap.xml"


def _nyt_locations() -> list[str]:
    return [loc.strip() for loc in re.findall(r"<loc>([^<]*)</loc>", need(NYT).read_text())]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_plain_text_sitemap(compress: bool) -> None:
    urls = _nyt_locations()
    assert len(urls) == 6
    lines = ["\ufeff" + urls[0], "", "  " + urls[1] + "  ", "not a url", "ftp://x.example/f", *urls[2:]]
    body = "\r\n".join(lines).encode()
    sitemap = parse_sitemap(gzip.compress(body) if compress else body, "https://www.nytimes.com/sitemap.txt")
    assert [e.url for e in sitemap.entries] == urls
    assert sitemap.skipped_without_loc == 2


def test_plain_text_sitemap_is_capped() -> None:
    body = "\n".join(f"https://x.example/a/{i}" for i in range(MAX_SITEMAP_URLS + 3)).encode()
    sitemap = parse_sitemap(body, "https://x.example/sitemap.txt")
    assert len(sitemap.entries) == MAX_SITEMAP_URLS and sitemap.skipped_over_cap == 3


def test_text_that_is_not_a_sitemap_is_refused() -> None:
    with pytest.raises(FeedError, match=r"sitemap https://x\.example/s\.txt is neither XML nor a text sitemap"):
        parse_sitemap(b"Access denied\nplease log in\n", "https://x.example/s.txt")


def test_sitemap_index_entries_without_loc_are_counted() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><lastmod>2026-03-01</lastmod></sitemap>"
        b"<sitemap><loc>  </loc></sitemap>"
        b"<sitemap><loc>https://x.example/news.xml</loc></sitemap>"
        b"<sitemap><loc>javascript:alert(1)</loc></sitemap>"
        b"</sitemapindex>"
    )
    sitemap = parse_sitemap(body, "https://x.example/index.xml")
    # javascript: is not "without a <loc>": it is listed, and the spider refuses its scheme
    assert [ref.url for ref in sitemap.sitemaps] == ["https://x.example/news.xml", "javascript:alert(1)"]
    assert sitemap.skipped_without_loc == 2


def test_urlset_entry_without_its_own_loc_does_not_take_an_image_loc() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
        b"<url><image:image><image:loc>https://x.example/photo.jpg</image:loc></image:image></url>"
        b"<url><loc>https://x.example/story</loc></url></urlset>"
    )
    sitemap = parse_sitemap(body, "https://x.example/sitemap.xml")
    assert [e.url for e in sitemap.entries] == ["https://x.example/story"]
    assert sitemap.skipped_without_loc == 1


def test_real_news_sitemap_reports_nothing_skipped() -> None:
    sitemap = parse_sitemap(need(NYT).read_bytes(), "https://www.nytimes.com/sitemap.xml")
    assert len(sitemap.entries) == 6 and sitemap.skipped_without_loc == 0


def test_text_sitemap_and_raw_gzip_feed_are_crawled(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/news/a", article_html("Story A", "Story A's body text."))
    site.add("/news/b", article_html("Story B", "Story B's body text."))
    site.add("/sitemap.txt", f"{site.url('/news/a')}\n".encode(), "text/plain")
    # A feed file served as is: gzip bytes, no Content-Encoding.
    site.add("/feed.xml.gz", gzip.compress(rss([(site.url("/news/b"), "Story B", "s")])), "application/gzip")
    reports = run_crawl(db_path, [SourceSpec("text", "sitemap", site.url("/sitemap.txt")),
                                  SourceSpec("gz", "feed", site.url("/feed.xml.gz"))])
    assert [(r["status"], r["new_articles"]) for r in reports] == [("ok", 1), ("ok", 1)]
    titles = sorted(a.title for a in iter_articles_after(open_store(db_path), 0))
    assert titles == ["Story A", "Story B"]
