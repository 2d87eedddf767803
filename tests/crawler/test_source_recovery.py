"""A 304 never makes a failing source healthy: a failing source is fetched in full until one parses."""

from __future__ import annotations

from pathlib import Path

from crawler.items import SourceSpec
from crawler.store import open_store, source_health
from tests.crawler.sites import article_html, conditional, rss, run_crawl
from tests.loopback import LoopbackHTTPServer, Request, Response


def _health(db_path: Path) -> dict[str, object]:
    (health,) = source_health(open_store(db_path))
    return {"failures": health.consecutive_failures, "error_class": health.error_class}


def test_a_failing_source_is_fetched_in_full_and_recovers_only_on_a_real_fetch(tmp_path: Path) -> None:
    db = tmp_path / "nw.db"
    with LoopbackHTTPServer() as site:
        site.add("/a1", article_html("Coast guard story", "Body."))
        feed = rss([(site.url("/a1"), "Coast guard story", "x")])
        site.route("/feed.xml", conditional(feed, '"v1"'))
        source = SourceSpec(name="bugle", kind="feed", url=site.url("/feed.xml"))
        run_crawl(db, [source])  # healthy; the ETag is stored
        site.add("/feed.xml", b"<html>maintenance</html>", "text/html", status=200)
        run_crawl(db, [source])  # broken: not a feed
        assert _health(db)["failures"] == 1
        # The server now answers 304 to a conditional request and the feed to a plain one.
        site.route("/feed.xml", conditional(feed, '"v1"'))
        (report,) = run_crawl(db, [source])
        last = site.requests_to("/feed.xml")[-1]
        assert "if-none-match" not in last.headers  # fetched in full, not conditionally
        assert report["error_class"] is None and _health(db) == {"failures": 0, "error_class": None}


def test_a_304_alone_does_not_clear_a_failure(tmp_path: Path) -> None:
    db = tmp_path / "nw.db"
    with LoopbackHTTPServer() as site:
        site.add("/feed.xml", b"<html>maintenance</html>", "text/html")
        source = SourceSpec(name="bugle", kind="feed", url=site.url("/feed.xml"))
        run_crawl(db, [source])
        assert _health(db)["failures"] == 1
        # A misbehaving server that answers 304 even to a plain request.
        site.route("/feed.xml", lambda _request: Response(304, b"", {}))
        run_crawl(db, [source])
        assert _health(db)["failures"] == 1 and _health(db)["error_class"] == "broken"
        assert isinstance(site.requests_to("/feed.xml")[-1], Request)
