"""A hostile server costs one bounded failure in source health and nothing else."""

from __future__ import annotations

from pathlib import Path

from crawler.items import SourceSpec
from crawler.store import iter_articles_after, open_store, source_health
from tests.crawler.sites import article_html, gzip_bomb, rss, run_crawl
from tests.loopback import LoopbackHTTPServer, Response
from tests.waiting import wait_for

FAST = {"download_timeout": 1.5, "retry_times": 0, "max_page_bytes": 200_000, "max_redirects": 5}


def _good_source(site: LoopbackHTTPServer) -> SourceSpec:
    site.add("/news/good", article_html("Good story", "The good story's body."))
    site.add("/good.xml", rss([(site.url("/news/good"), "Good", "s")]), "application/rss+xml")
    return SourceSpec("good", "feed", site.url("/good.xml"))


def _crawl_with_good(site: LoopbackHTTPServer, db_path: Path, hostile_path: str) -> tuple[dict, dict]:
    # It ends: run_crawl's own timeout bounds a hang (a failure), never a slow machine.
    bad, good = run_crawl(
        db_path, [SourceSpec("bad", "feed", site.url(hostile_path)), _good_source(site)], **FAST
    )
    assert (good["status"], good["new_articles"]) == ("ok", 1)
    (health,) = [h for h in source_health(open_store(db_path)) if h.name == "bad"]
    assert health.consecutive_failures == 1 and health.error_class == bad["error_class"]
    return bad, good


def test_slow_server_times_out(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.route(
        "/slow.xml", lambda _r: Response(200, rss([]), {"Content-Type": "application/rss+xml"}, delay=120)
    )
    bad, _ = _crawl_with_good(site, db_path, "/slow.xml")
    assert (bad["status"], bad["error_class"]) == ("failed", "timeout")


def test_byte_trickle_is_cut_off_by_the_total_download_timeout(site: LoopbackHTTPServer, db_path: Path) -> None:
    # Never idle for long (a chunk every 0.2 s), never done: 40 KB would take over 2 minutes at this
    # rate, longer than run_crawl waits, against a total download timeout of 1.5 s.
    body = rss([(site.url(f"/news/{i}"), f"Story {i}", "x" * 40) for i in range(400)])
    assert len(body) > 40_000
    site.route(
        "/drip.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, trickle=0.2)
    )
    bad, _ = _crawl_with_good(site, db_path, "/drip.xml")
    assert (bad["status"], bad["error_class"]) == ("failed", "timeout")
    # Cut off, not read to the end: the server notices the closed connection at its next writes.
    assert wait_for(lambda: site.answered_at("/drip.xml")), "the server stops trickling"
    (answered,) = site.answered_at("/drip.xml")
    assert answered.body_bytes_sent < answered.body_bytes
    assert not site.requests_to("/news/0")  # nothing of the half-read feed was followed


def test_endless_redirect(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.route(
        "/loop.xml", lambda r: Response(302, b"", {"Location": "/loop.xml?n=" + str(len(site.requests))})
    )
    bad, _ = _crawl_with_good(site, db_path, "/loop.xml")
    assert (bad["status"], bad["error_class"]) == ("failed", "redirect_loop")
    assert len(site.requests_to("/loop.xml")) <= FAST["max_redirects"] + 1


def test_huge_body(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/huge.xml", b"<rss>" + b"x" * 2_000_000 + b"</rss>", "application/rss+xml")
    bad, _ = _crawl_with_good(site, db_path, "/huge.xml")
    assert (bad["status"], bad["error_class"]) == ("failed", "too_large")


def test_gzip_bomb(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/bomb.xml", gzip_bomb(50_000_000), "application/rss+xml", headers={"Content-Encoding": "gzip"})
    bad, _ = _crawl_with_good(site, db_path, "/bomb.xml")
    assert (bad["status"], bad["error_class"]) == ("failed", "too_large")


def test_huge_article_page_fails_alone(site: LoopbackHTTPServer, db_path: Path) -> None:
    site.add("/news/huge", b"<html>" + b"<p>x</p>" * 100_000, "text/html")
    site.add("/news/fine", article_html("Fine", "Fine body."))
    site.add("/feed.xml", rss([(site.url("/news/huge"), "Huge", "s"), (site.url("/news/fine"), "Fine", "s")]))
    (report,) = run_crawl(db_path, [SourceSpec("mixed", "feed", site.url("/feed.xml"))], **FAST)
    assert (report["status"], report["new_articles"], report["failed"]) == ("ok", 1, 1)


def test_wrong_charset_page_is_still_read(site: LoopbackHTTPServer, db_path: Path) -> None:
    body = article_html(
        "南海局勢緊張", "菲律賓海警船在仁愛礁附近遭到水砲攻擊，外交部提出嚴正抗議。" * 3, lang="zh-tw"
    )
    page = body.replace('<meta charset="utf-8">', "").encode("big5")
    site.add("/news/zh", page, "text/html; charset=utf-8")  # the header lies
    site.add("/feed.xml", rss([(site.url("/news/zh"), "南海", "s")]), "application/rss+xml")
    (report,) = run_crawl(db_path, [SourceSpec("zh", "feed", site.url("/feed.xml"))], **FAST)
    assert report["new_articles"] == 1
    (article,) = iter_articles_after(open_store(db_path), 0)
    assert "仁愛礁" in article.text and article.title == "南海局勢緊張"
