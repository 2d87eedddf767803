"""Memory and time of the headless-browser fetcher (``render: browser``) over 100 rendered pages.

Why: a browser left running grows; ``crawler.render`` shares one Chromium and recycles it after
``RECYCLE_AFTER_PAGES`` pages or ``MAX_BROWSER_MB``. This prints the browser's memory (PSS of its
process tree) every ten pages, so the bound can be seen holding, and the time per page, against a
plain HTTP fetch of the same page in the same run.

Usage::

    python bench/bench_render.py            # 100 pages
    python bench/bench_render.py --pages 300
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.render import RECYCLE_AFTER_PAGES, BrowserRenderer, chromium_path
from tests.loopback import LoopbackHTTPServer

SCRIPT = """const list = document.getElementById('list');
for (let i = 0; i < 200; i++) { const a = document.createElement('a'); a.href = '/news/' + i;
  a.textContent = 'Story ' + i + ' ' + 'x'.repeat(200); list.appendChild(a); }"""


async def run(pages: int) -> int:
    with LoopbackHTTPServer() as site:
        for i in range(pages):
            site.add(f"/section/{i}", f'<html><body><div id="list"></div><script src="/list.js?{i}"></script>'
                                      "</body></html>")
        site.add("/list.js", SCRIPT, "application/javascript")
        renderer = BrowserRenderer(timeout=60)
        rendered, plain = [], []
        print(f"{pages} pages, browser recycled every {RECYCLE_AFTER_PAGES} pages; Chromium: {chromium_path()}")
        print(f"{'pages':>6}{'browser MB (PSS)':>18}{'launches':>10}")
        for i in range(pages):
            started = time.perf_counter()
            _url, html = await renderer.render(site.url(f"/section/{i}"))
            rendered.append(time.perf_counter() - started)
            assert html.count(b"/news/") == 200, "the script did not build the list"
            started = time.perf_counter()
            requests.get(site.url(f"/section/{i}"), timeout=30)
            plain.append(time.perf_counter() - started)
            if (i + 1) % 10 == 0:
                print(f"{i + 1:>6}{renderer.memory_mb():>18.0f}{renderer.launches:>10}")
        await renderer.close()
    print(f"per page: rendered median {statistics.median(rendered) * 1000:.0f} ms, "
          f"plain fetch median {statistics.median(plain) * 1000:.1f} ms "
          f"({statistics.median(rendered) / statistics.median(plain):.0f}x)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()
    if chromium_path() is None:
        print("skipped: no Chromium installed (apt-get install chromium)")
        return 0
    return asyncio.run(run(args.pages))


if __name__ == "__main__":
    sys.exit(main())
