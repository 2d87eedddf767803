"""A page that keeps extraction busy past the timeout costs its worker, not the pool.

The slow page is real markup, not a stub: 1.5 MB of `<p>2021-` paragraphs keeps trafilatura and
htmldate busy for minutes (measured: 8 s for 160 KB, growing faster than the size). The timeout is
lowered through `NEWSWATCH_EXTRACTION_TIMEOUT`, which `crawler.pool` reads on every page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.items import SourceSpec
from crawler.store import iter_articles_after, open_store
from tests.conftest import CORPUS, need
from tests.crawler.sites import ROOT, article_html, rss, run_crawl
from tests.loopback import LoopbackHTTPServer, Response

TIMEOUT = "10"  # seconds a page may hold a worker in these tests
SLOW_PAGE = ("<html><head><title>Slow</title></head><body>" + "<p>2021-" * 190_000).encode()

SCRIPT = r"""
import asyncio, os, sys
from crawler.pool import extract_in_pool, get_pool, shutdown_pool
from tests.crawler.sites import article_html
from tests.crawler.test_pool_timeout import SLOW_PAGE

async def main():
    before = get_pool(1).schedule(os.getpid).result(timeout=120)
    slow = await extract_in_pool(1, SLOW_PAGE, "https://x.example/slow", fallback_summary="feed text")
    after = get_pool(1).schedule(os.getpid).result(timeout=120)
    page = article_html("Normal", "The normal page's body, extracted by a fresh worker.").encode()
    normal = await extract_in_pool(1, page, "https://x.example/normal")
    print(slow.extracted, slow.reason, slow.text, before != after, normal.extracted, flush=True)

asyncio.run(main())
shutdown_pool()
"""


@pytest.mark.slow
def test_timed_out_worker_is_killed_and_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_EXTRACTION_TIMEOUT", TIMEOUT)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.stdout.split() == ["False", "timeout", "feed", "text", "True", "True"], done.stderr[-3000:]


@pytest.mark.slow
def test_page_after_a_timed_out_one_is_extracted_fully(
    site: LoopbackHTTPServer, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWATCH_EXTRACTION_TIMEOUT", TIMEOUT)
    site.add("/news/slow", SLOW_PAGE, "text/html")
    # Answered late, so it reaches the (single) worker only after the slow page has taken it.
    site.route("/news/normal", lambda _r: Response(
        200, article_html("Normal story", "The normal story's body, from the page itself.").encode(),
        {"Content-Type": "text/html; charset=utf-8"}, delay=3))
    site.add("/feed.xml", rss([(site.url("/news/slow"), "Slow", "slow feed text"),
                               (site.url("/news/normal"), "Normal story", "normal feed text")]))
    (report,) = run_crawl(db_path, [SourceSpec("mixed", "feed", site.url("/feed.xml"))], timeout=300,
                          download_timeout=30, extraction_workers=1)
    assert report["new_articles"] == 2, report["_stderr"][-3000:]
    articles = {a.title: a for a in iter_articles_after(open_store(db_path), 0)}
    assert (articles["Slow"].extracted, articles["Slow"].text) == (False, "slow feed text")
    normal = articles["Normal story"]
    assert normal.extracted and "from the page itself" in normal.text


PARSE_SCRIPT = r"""
import asyncio, sys
from crawler.errors import FeedError
from crawler.feeds import parse_feed
from crawler.pool import parse_in_pool, shutdown_pool

async def main():
    body = open(sys.argv[1], "rb").read()
    entries = await parse_in_pool(1, parse_feed, body, "https://www.theguardian.com/rss")
    print(len(entries), entries == parse_feed(body, "https://www.theguardian.com/rss"))
    try:
        await parse_in_pool(1, parse_feed, b"<html>no feed</html>", "https://x.example/f")
    except FeedError as exc:
        print("FeedError", "https://x.example/f" in str(exc))

asyncio.run(main())
shutdown_pool()
"""


def test_index_parsing_runs_in_the_pool() -> None:
    guardian = need(CORPUS / "feeds" / "rss-parser" / "guardian.rss")
    done = subprocess.run([sys.executable, "-c", PARSE_SCRIPT, str(guardian)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.stdout.split() == ["55", "True", "FeedError", "True"], done.stderr[-3000:]
