"""Links in content cannot make the crawler read local files or reach other local services.

Everything runs on 127.0.0.1, so the source itself is on loopback: its own origin (same scheme, host
and port) is trusted, which is how ordinary articles get through. A second loopback server on another
port plays the internal service; it records every request it receives, and the tests look at it once
the crawl process has exited (nothing can reach it after that).
"""

from __future__ import annotations

import email.utils
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.items import SourceSpec
from tests.crawler.sites import article_html, rss, run_crawl
from tests.loopback import LoopbackHTTPServer, Response

SECRET = "SECRET-LOCAL-FILE-CONTENT-4f1c"


@pytest.fixture
def internal() -> Iterator[LoopbackHTTPServer]:
    """Another loopback service (another port): content must not reach it."""
    with LoopbackHTTPServer() as server:
        server.add("/secret", article_html("Internal admin page", f"{SECRET} internal data."))
        yield server


def _stories(site: LoopbackHTTPServer, count: int) -> list[str]:
    urls = []
    for i in range(count):
        path = f"/news/story-{i}"
        site.add(path, article_html(f"Harbour story {i}", f"Distinct harbour sentence {i}."))
        urls.append(site.url(path))
    return urls


def _stored(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as db:
        return list(db.execute("SELECT url, title || ' ' || text FROM articles"))


def test_a_link_to_another_loopback_port_is_not_fetched(
    site: LoopbackHTTPServer, internal: LoopbackHTTPServer, db_path: Path
) -> None:
    good = _stories(site, 2)
    items = [(good[0], "a", "s"), (internal.url("/secret"), "x", "s"), (good[1], "b", "s")]
    site.add("/feed.xml", rss(items), "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert internal.requests == []  # the crawl process has exited: nothing can come later
    assert (report["status"], report["new_articles"]) == ("ok", 2)
    assert {url for url, _ in _stored(db_path)} == set(good)
    assert "1 URLs refused: non-public address" in report["note"]
    host, port = internal.base_url.removeprefix("http://").split(":")
    warnings = [line for line in report["_stderr"].splitlines() if "refused" in line and f":{port}/secret" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "source bugle" in warnings[0]
    assert f"host {host}" in warnings[0] and "loopback" in warnings[0]


def test_allow_networks_lets_a_listed_address_through(
    site: LoopbackHTTPServer, internal: LoopbackHTTPServer, db_path: Path
) -> None:
    site.add("/feed.xml", rss([(internal.url("/secret"), "x", "s")]), "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))],
                          allow_networks=["127.0.0.1/32"])
    assert (report["status"], report["new_articles"]) == ("ok", 1)
    assert len(internal.requests_to("/secret")) == 1


def test_a_redirect_from_the_sources_origin_to_another_port_is_refused(
    site: LoopbackHTTPServer, internal: LoopbackHTTPServer, local_file: Path, db_path: Path
) -> None:
    good = _stories(site, 1)
    site.route("/news/moved", lambda _r: Response(302, b"", {"Location": internal.url("/secret")}))
    site.route("/news/file", lambda _r: Response(302, b"", {"Location": f"file://{local_file}"}))
    site.add("/feed.xml", rss([(site.url("/news/moved"), "m", "s"), (site.url("/news/file"), "f", "s"),
                               (good[0], "g", "s")]), "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert len(site.requests_to("/news/moved")) == 1  # the same-origin hop is fetched...
    assert internal.requests == []  # ...its redirect to another service is not
    assert (report["status"], report["new_articles"]) == ("ok", 1)
    assert not any(SECRET in text for _, text in _stored(db_path))
    assert "(redirect)" in report["_stderr"] and "1 URLs refused" in report["note"]


def test_an_index_redirecting_to_another_service_fails_that_source_only(
    site: LoopbackHTTPServer, internal: LoopbackHTTPServer, db_path: Path
) -> None:
    good = _stories(site, 1)
    site.add("/good.xml", rss([(good[0], "g", "s")]), "application/rss+xml")
    site.route("/feed.xml", lambda _r: Response(301, b"", {"Location": internal.url("/secret")}))
    bad, ok = run_crawl(db_path, [SourceSpec("bad", "feed", site.url("/feed.xml")),
                                  SourceSpec("good", "feed", site.url("/good.xml"))])
    assert internal.requests == []
    assert (bad["status"], bad["error_class"]) == ("failed", "blocked")
    assert "refused" in bad["error"]
    assert (ok["status"], ok["new_articles"]) == ("ok", 1)


@pytest.fixture
def local_file(tmp_path: Path) -> Path:
    """A markup-like local file, the kind that was stored (and alerted on) before."""
    path = tmp_path / "private.html"
    path.write_text(article_html("Private notes", f"{SECRET} never to be read by the crawler."))
    return path


def _json_feed(urls: list[str]) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    items = [{"id": str(i), "url": url, "title": f"Item {i}", "date_published": now} for i, url in enumerate(urls)]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Bugle", "items": items}).encode()


def _sitemap(urls: list[str]) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(f"<url><loc>{u}</loc><lastmod>{now}</lastmod></url>" for u in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'.encode()


def test_file_links_in_feeds_and_sitemaps_are_never_read(
    site: LoopbackHTTPServer, local_file: Path, db_path: Path
) -> None:
    good = _stories(site, 3)
    site.add("/rss.xml", rss([(f"file://localhost{local_file}", "f", "s"), (good[0], "g", "s")]),
             "application/rss+xml")
    site.add("/feed.json", _json_feed([f"file://{local_file}", good[1]]), "application/feed+json")
    site.add("/sitemap.xml", _sitemap([f"file://{local_file}", good[2]]), "application/xml")
    reports = run_crawl(db_path, [SourceSpec("rss", "feed", site.url("/rss.xml")),
                                  SourceSpec("json", "feed", site.url("/feed.json")),
                                  SourceSpec("map", "sitemap", site.url("/sitemap.xml"))])
    stored = _stored(db_path)
    assert not any(SECRET in text or url.startswith("file:") for url, text in stored)
    assert {url for url, _ in stored} == set(good)
    for report in reports:
        assert (report["status"], report["new_articles"]) == ("ok", 1), report
        assert report["note"] == "1 entries skipped: not http(s)"


def test_non_http_links_in_the_middle_of_a_feed_skip_only_themselves(
    site: LoopbackHTTPServer, db_path: Path
) -> None:
    good = _stories(site, 4)
    items = [(good[0], "a", "s"), ("javascript:alert(1)", "j", "s"), (good[1], "b", "s"),
             ("mailto:desk@news.example", "m", "s"), ("tag:news.example,2026:42", "t", "s"),
             ("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "u", "s"), (good[2], "c", "s"),
             ("ftp://127.0.0.1/pub/x", "f", "s"), (good[3], "d", "s")]
    site.add("/feed.xml", rss(items), "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert {url for url, _ in _stored(db_path)} == set(good)
    assert (report["status"], report["new_articles"], report["failed"]) == ("ok", 4, 0)
    assert report["note"] == "5 entries skipped: not http(s)"


def test_a_feed_whose_entries_are_all_too_old_says_so(site: LoopbackHTTPServer, db_path: Path) -> None:
    old = email.utils.format_datetime(datetime.now(UTC) - timedelta(days=10))
    body = "".join(f"<item><title>Old {i}</title><link>{site.url(f'/news/old-{i}')}</link>"
                   f"<pubDate>{old}</pubDate></item>" for i in range(12))
    site.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>{body}'
             "</channel></rss>", "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert (report["status"], report["new_articles"]) == ("ok", 0)
    assert report["note"] == "12 entries, all older than max_age_days=3"


def test_a_sitemap_index_without_locs_says_so(site: LoopbackHTTPServer, db_path: Path) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(f"<sitemap><lastmod>{now}</lastmod></sitemap>" for _ in range(4))
    site.add("/index.xml", '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f"{body}</sitemapindex>", "application/xml")
    (report,) = run_crawl(db_path, [SourceSpec("map", "sitemap", site.url("/index.xml"))])
    assert (report["status"], report["new_articles"]) == ("ok", 0)
    assert report["note"] == "sitemap index lists 4 child sitemaps, none with a <loc>"


def test_child_sitemaps_elsewhere_are_not_fetched(
    site: LoopbackHTTPServer, internal: LoopbackHTTPServer, local_file: Path, db_path: Path
) -> None:
    good = _stories(site, 1)
    site.add("/child.xml", _sitemap([good[0]]), "application/xml")
    internal.add("/child.xml", _sitemap([internal.url("/secret")]), "application/xml")
    children = [site.url("/child.xml"), internal.url("/child.xml"), f"file://{local_file}"]
    body = "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in children)
    site.add("/index.xml", '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f"{body}</sitemapindex>", "application/xml")
    (report,) = run_crawl(db_path, [SourceSpec("map", "sitemap", site.url("/index.xml"))])
    assert internal.requests == []
    assert {url for url, _ in _stored(db_path)} == set(good)
    assert (report["status"], report["new_articles"]) == ("ok", 1)
    assert report["note"] == ("1 entries skipped: not http(s); "
                              "1 URLs refused: non-public address (see crawl.allow_networks)")


def test_a_host_name_is_judged_by_the_address_it_resolves_to(
    site: LoopbackHTTPServer, internal: LoopbackHTTPServer, db_path: Path
) -> None:
    # "localhost" and "2130706433" (127.0.0.1 as one number) are not IP literals to the URL parser:
    # only the lookup shows they are loopback
    port = internal.base_url.rsplit(":", 1)[1]
    link = f"http://localhost:{port}/secret"
    site.add("/feed.xml", rss([(link, "x", "s"), (f"http://2130706433:{port}/secret?n", "y", "s")]),
             "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("bugle", "feed", site.url("/feed.xml"))])
    assert internal.requests == []
    assert report["new_articles"] == 0 and "2 URLs refused" in report["note"]
    assert "host localhost: loopback address 127.0.0.1" in report["_stderr"]
    assert "host 2130706433: loopback address 127.0.0.1" in report["_stderr"]
    (allowed,) = run_crawl(db_path, [SourceSpec("bugle2", "feed", site.url("/feed.xml"))],
                           allow_networks=["127.0.0.0/8"])
    assert allowed["new_articles"] >= 1 and len(internal.requests_to("/secret")) == 2
