"""Crawl throughput: download-only vs end-to-end vs extraction-only, and an unchanged-feeds cycle.

Usage: .venv/bin/python bench/bench_crawl.py [--pages 2000] [--feeds 500]

Serves N realistic article pages (~60 KB each: navigation, ads, related links, 10 paragraphs) plus a
feed from a loopback server and reports, in one run:
  1. bare Scrapy download-only pages/s (a plain spider, same settings, no extraction, no store);
  2. newswatch end-to-end new articles/s (`python -m crawler.runner`: fetch + extract + store);
  3. extraction-only articles/s on all cores (crawler.extract in a process pool, pages in memory);
  the ratios, and the peak RSS of the crawl process tree;
  4. 500 feed sources with nothing new (ETag → 304): time and bytes of one cycle.
Each crawl runs in its own process (a Twisted reactor cannot restart). Counts are asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.extract import extract_article  # noqa: E402
from crawler.items import SourceSpec  # noqa: E402
from tests.crawler.sites import rss  # noqa: E402
from tests.loopback import LoopbackHTTPServer, Request, Response  # noqa: E402

_TEXT = (
    "maritime patrol coast guard vessel shoal frigate navy contract minister talks island reef tension "
    "ambassador protest exercise drills missile procurement defence budget"
)
WORDS = _TEXT.split()


def make_page(i: int) -> bytes:
    nav = "".join(f'<li><a href="/section/{n}">Section {n} news and analysis</a></li>' for n in range(150))
    related = "".join(
        f'<li><a href="/related/{i}/{n}">Related story {n} about the region</a></li>' for n in range(80)
    )
    body = "".join(
        "<p>" + " ".join(WORDS[(i * 7 + p * 3 + w) % len(WORDS)] for w in range(90)) + f" ({i}.{p})</p>"
        for p in range(10)
    )
    script = "<script>var tracking = '" + "x" * 38000 + "';</script>"
    html = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Story {i} | Bench Times</title>"
        f"<meta property='article:published_time' content='2026-03-02T08:30:00+08:00'>{script}</head><body>"
        f"<header><nav><ul>{nav}</ul></nav></header><div class='ad'>Advertisement</div>"
        f"<article><h1>Story {i}</h1>{body}</article><aside><ul>{related}</ul></aside>"
        "<footer>Copyright Bench Times</footer></body></html>"
    )
    return html.encode()


DOWNLOAD_ONLY = r"""
import json, sys, time
from crawler.reactor import install_asyncio_reactor
loop = install_asyncio_reactor()
from twisted.internet import reactor
import scrapy
from crawler.runner import make_runner
from crawler.options import CrawlOptions
urls = json.loads(sys.argv[1])
options = CrawlOptions(**json.loads(sys.argv[2]))
class Bare(scrapy.Spider):
    name = "bare"
    count = 0
    custom_settings = {"ITEM_PIPELINES": {}, "ROBOTSTXT_OBEY": False}
    async def start(self):
        for url in urls:
            yield scrapy.Request(url)
    def parse(self, response):
        Bare.count += 1
runner = make_runner(options)
started = [0.0]
async def main():
    started[0] = time.perf_counter()
    await runner.crawl(Bare)
    print(json.dumps({"pages": Bare.count, "seconds": time.perf_counter() - started[0]}))
    reactor.callLater(0, reactor.stop)
reactor.callWhenRunning(lambda: loop.create_task(main()))
reactor.run(installSignalHandlers=False)
"""


def run_child(args: list[str]) -> tuple[str, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"child failed: {proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1], time.perf_counter() - started


def crawl(db: Path, sources: list[SourceSpec], options: dict) -> tuple[list[dict], float]:
    out, wall = run_child(
        [
            "-m",
            "crawler.runner",
            "--db",
            str(db),
            "--sources-json",
            json.dumps([dataclasses.asdict(s) for s in sources]),
            "--options-json",
            json.dumps(options),
        ]
    )
    return json.loads(out), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=500)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    pages = [make_page(i) for i in range(args.pages)]
    print(f"{args.pages} pages, mean {sum(map(len, pages)) / len(pages) / 1024:.0f} KB; {cores} cores")
    options = {
        "download_delay": 0.0,
        "autothrottle": False,
        "per_domain_concurrency": 16,
        "concurrent_requests": 32,
        "obey_robots_txt": False,
        "max_articles_per_source": args.pages,
        "extraction_workers": 0,
    }
    with LoopbackHTTPServer() as site, tempfile.TemporaryDirectory() as tmp:
        for i, page in enumerate(pages):
            site.add(f"/a/{i}", page)
        urls = [site.url(f"/a/{i}") for i in range(args.pages)]
        site.add(
            "/feed.xml", rss([(u, f"Story {i}", "s") for i, u in enumerate(urls)]), "application/rss+xml"
        )

        out, _ = run_child(["-c", DOWNLOAD_ONLY, json.dumps(urls), json.dumps(options)])
        bare = json.loads(out)
        assert bare["pages"] == args.pages, bare
        download_rate = bare["pages"] / bare["seconds"]

        reports, wall = crawl(
            Path(tmp) / "e2e.db", [SourceSpec("bench", "feed", site.url("/feed.xml"))], options
        )
        (report,) = reports
        assert report["new_articles"] == args.pages, report
        e2e_rate = report["new_articles"] / report["duration"]
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        with ProcessPoolExecutor(cores) as pool:
            list(pool.map(extract_article, pages[:cores], ["https://x/"] * cores))  # start the workers
            started = time.perf_counter()
            results = list(
                pool.map(extract_article, pages, [f"https://x/a/{i}" for i in range(len(pages))], chunksize=8)
            )
            extract_rate = len(results) / (time.perf_counter() - started)
        assert all(r.extracted for r in results)

        print(f"download-only (bare Scrapy):     {download_rate:8.1f} pages/s")
        print(
            f"end-to-end (fetch+extract+store): {e2e_rate:8.1f} articles/s  "
            f"(crawl {report['duration']:.1f} s, process {wall:.1f} s)"
        )
        print(f"extraction-only ({cores} processes):  {extract_rate:8.1f} articles/s")
        print(f"ratio end-to-end / extraction-only: {e2e_rate / extract_rate:.2f}  (target >= 0.80)")
        print(f"ratio end-to-end / download-only:   {e2e_rate / download_rate:.2f}")
        print(f"peak RSS of a crawl process (largest child): {peak_rss_mb:.0f} MB")

    with LoopbackHTTPServer() as site, tempfile.TemporaryDirectory() as tmp:
        sent = {"bytes": 0}
        feed = rss([(f"http://example.invalid/{i}", "t", "s") for i in range(30)])

        def conditional(request: Request) -> Response:
            if request.headers.get("if-none-match") == '"v1"':
                response = Response(304, b"", {"ETag": '"v1"'})
            else:
                response = Response(200, feed, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})
            sent["bytes"] += len(response.body) + 120  # status line and headers, roughly
            return response

        for n in range(args.feeds):
            site.route(f"/feeds/{n}.xml", conditional)
        site.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        sources = [
            SourceSpec(f"feed-{n}", "feed", site.url(f"/feeds/{n}.xml"), max_age_days=0)
            for n in range(args.feeds)
        ]
        cycle_options = {
            "download_delay": 0.0,
            "autothrottle": False,
            "per_domain_concurrency": 16,
            "extraction_workers": 1,
        }
        crawl(Path(tmp) / "feeds.db", sources, cycle_options)  # first cycle fetches every feed once
        before_requests, sent["bytes"] = len(site.requests), 0
        reports, wall = crawl(Path(tmp) / "feeds.db", sources, cycle_options)
        statuses = {r["status"] for r in reports}
        assert statuses == {"unchanged"}, statuses
        requests = site.requests[before_requests:]
        not_modified = sum(1 for r in requests if r.path.startswith("/feeds/"))
        crawl_seconds = max(r["duration"] for r in reports)
        print(
            f"{args.feeds} unchanged feeds: {len(requests)} requests "
            f"({not_modified} conditional GETs answered 304, {len(requests) - not_modified} robots.txt)"
            f",, {sent['bytes'] / 1024:.0f} KB sent by the server, "
            f"cycle {crawl_seconds:.2f} s (process incl. start-up {wall:.2f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
