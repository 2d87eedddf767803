"""`newswatch sources add URL`: finds a feed, a sitemap or a listing rule on a loopback outlet and writes
the chosen one into config.yaml, validated, with the file's comments kept."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from scheduler.cli import main
from scheduler.config import load_config
from tests.crawler.sites import article_html, rss
from tests.loopback import LoopbackHTTPServer

CONFIG = """\
# My newswatch: outlets I read every morning.
database: nw.db
sources:
  # The wire I trust most.
  - {name: wire, kind: feed, url: "https://wire.example/feed", every: 5m}
watchlists: []
"""

PAGE = """<html><head><title>Asia</title>{head}</head><body><h1>Asia</h1>{links}</body></html>"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _links(base: str, count: int = 6) -> str:
    return "".join(f'<p><a href="{base}/news/2026/12/0{i}/coast-guard-story-number-{i}">Story {i}</a></p>'
                   for i in range(1, count + 1)) + '<a href="/about">About us</a><a href="/contact">Contact</a>'


def _add(config: Path, url: str, *extra: str) -> str:
    result = CliRunner().invoke(main, ["sources", "add", url, "--config", str(config), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_feed_the_page_announces_is_found_shown_and_written(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site:
        site.add("/asia/", PAGE.format(head='<link rel="alternate" type="application/rss+xml" href="/asia.rss">',
                                       links=""))
        site.add("/asia.rss", rss([(site.url("/a1"), "Coast guards face off at the shoal", "x"),
                                   (site.url("/a2"), "Frigate deal signed", "y")]), "application/rss+xml")
        config = _config(tmp_path)
        out = _add(config, site.url("/asia/"), "--pick", "1", "--name", "bugle-asia", "--tag", "asia")
    assert "[1] feed" in out and site.url("/asia.rss") in out and "announced by the page" in out
    assert "Coast guards face off at the shoal" in out  # what it would yield now
    text = config.read_text(encoding="utf-8")
    assert "# My newswatch: outlets I read every morning." in text and "# The wire I trust most." in text
    added = [s for s in load_config(config).sources if s.name == "bugle-asia"]
    assert added and added[0].kind == "feed" and added[0].url == site.url("/asia.rss")


def test_a_sitemap_named_by_robots_txt_is_found(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site:
        site.add("/", PAGE.format(head="", links=""))
        site.add("/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {site.url('/news-map.xml')}\n", "text/plain")
        site.add("/news-map.xml",
                 '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f"<url><loc>{site.url('/n/1')}</loc><lastmod>2026-12-01</lastmod></url>"
                 f"<url><loc>{site.url('/n/2')}</loc><lastmod>2026-12-02</lastmod></url></urlset>",
                 "application/xml")
        config = _config(tmp_path)
        out = _add(config, site.url("/"), "--pick", "1", "--name", "bugle-map")
    assert "[1] sitemap" in out and "robots.txt" in out
    assert [s.kind for s in load_config(config).sources if s.name == "bugle-map"] == ["sitemap"]


def test_a_listing_rule_is_proposed_from_the_page_links(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site:
        site.add("/asia/", PAGE.format(head="", links=_links(site.base_url)))
        for i in range(1, 7):
            site.add(f"/news/2026/12/0{i}/coast-guard-story-number-{i}", article_html(f"Story {i}", "Text. " * 50))
        config = _config(tmp_path)
        out = _add(config, site.url("/asia/"), "--pick", "1", "--name", "bugle-list")
    assert "[1] listing" in out and "6 items now" in out and "link_pattern" in out
    (source,) = [s for s in load_config(config).sources if s.name == "bugle-list"]
    assert source.kind == "listing"
    text = config.read_text(encoding="utf-8")
    assert "link_pattern" in text and "/about" not in text


def test_nothing_found_says_so_and_leaves_the_file(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site:
        site.add("/", "<html><body><p>Under construction</p></body></html>")
        config = _config(tmp_path)
        result = CliRunner().invoke(main, ["sources", "add", site.url("/"), "--config", str(config)])
    assert result.exit_code == 1
    assert "no feed, sitemap or article links found" in result.output
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_name_in_use_is_refused_and_the_file_is_untouched(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site:
        site.add("/f.rss", rss([(site.url("/a1"), "One", "x")]), "application/rss+xml")
        config = _config(tmp_path)
        result = CliRunner().invoke(main, ["sources", "add", site.url("/f.rss"), "--config", str(config),
                                           "--pick", "1", "--name", "wire"])
    assert result.exit_code == 1 and "exists already" in result.output
    assert config.read_text(encoding="utf-8") == CONFIG
