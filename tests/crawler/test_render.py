"""`render: browser`: a section page whose list is built by script is read with headless Chromium."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from crawler.items import SourceSpec
from crawler.render import chromium_path
from crawler.store import iter_articles_after, open_store
from tests.crawler.sites import article_html, run_crawl
from tests.loopback import LoopbackHTTPServer

pytestmark = pytest.mark.skipif(
    chromium_path() is None or importlib.util.find_spec("playwright") is None,
    reason="render: browser needs Chromium (apt-get install chromium) and playwright (pip install playwright)",
)

SHELL = ('<html><head><title>Asia</title></head><body><div id="list"></div>'
         '<script src="/list.js"></script></body></html>')


def _script(elsewhere: str) -> str:
    # Builds the list the way outlets' front-end code does, and tries to reach another host.
    return (f"fetch('{elsewhere}/beacon').catch(() => {{}});\n"
            "const list = document.getElementById('list');\n"
            "for (let i = 1; i <= 4; i++) { const a = document.createElement('a');"
            " a.href = '/news/2026/12/coast-guard-story-' + i; a.textContent = 'Story ' + i; list.appendChild(a); }\n")


def _site(site: LoopbackHTTPServer, other: LoopbackHTTPServer) -> None:
    site.add("/asia/", SHELL)
    site.add("/list.js", _script(other.base_url), "application/javascript")
    other.add("/beacon", "seen")
    for i in range(1, 5):
        site.add(f"/news/2026/12/coast-guard-story-{i}", article_html(f"Coast guard story {i}", f"Body {i}."))


def test_a_script_built_listing_is_read_with_the_browser_and_only_there(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site, LoopbackHTTPServer() as other:
        _site(site, other)
        rendered = SourceSpec(name="rendered", kind="listing", url=site.url("/asia/"), render="browser",
                              link_pattern=r"/news/2026/")
        plain = SourceSpec(name="plain", kind="listing", url=site.url("/asia/"), link_pattern=r"/news/2026/")
        reports = {r["source"]: r for r in run_crawl(tmp_path / "nw.db", [rendered, plain])}
        assert reports["rendered"]["new_articles"] == 4, reports["rendered"]
        assert reports["plain"]["new_articles"] == 0  # without the browser the shell has no links
        titles = {a.title for a in iter_articles_after(open_store(tmp_path / "nw.db"), 0)}
        assert titles == {f"Coast guard story {i}" for i in range(1, 5)}
        # The articles were fetched plainly: each once, by the crawler, not by the browser.
        assert all(len(site.requests_to(f"/news/2026/12/coast-guard-story-{i}")) == 1 for i in range(1, 5))
        assert other.requests_to("/beacon") == []  # the page's script could not reach another host


def test_a_page_that_never_loads_fails_the_source_with_a_reason(tmp_path: Path) -> None:
    # Nothing listens on this port: the browser cannot load the page, and the crawl says so.
    with LoopbackHTTPServer() as probe:
        dead = probe.base_url
    source = SourceSpec(name="dead", kind="listing", url=dead + "/asia/", render="browser")
    (report,) = run_crawl(tmp_path / "nw.db", [source])
    assert report["new_articles"] == 0 and report["error_class"], report
