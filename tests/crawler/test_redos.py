"""Hostile feeds, pages and listing rules cost bounded, about-linear work (no quadratic or exponential regex).

Each test would hang for minutes (or forever) before the fix. None asserts a wall-clock bound: a call
runs in a child process that must answer within a generous `_LIMIT` (so a regression fails instead of
hanging CI), and scaling is checked as a ratio of the best of five timings for an input and one eight times
as long, measured in the same run (linear work gives about 8x, quadratic 64x; the bound is 24x).
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import pytest

from crawler.errors import FeedError
from crawler.extract import extract_article
from crawler.feeds import html_to_text, parse_feed
from crawler.listing import PATTERN_TIMEOUT, compile_link_pattern, extract_links

_LIMIT = 60.0  # seconds; the unfixed code needed minutes to hours on these inputs


def _bounded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a forked process, failing the test if it has not returned within `_LIMIT`.

    A thread would not do: a regex holds the GIL for its whole run, so a join with a timeout could not
    return before the regex ended.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def run() -> None:
        try:
            sender.send(("value", fn(*args, **kwargs)))
        except BaseException as exc:
            sender.send(("error", exc))

    child = context.Process(target=run, daemon=True)
    child.start()
    try:
        finished = receiver.poll(_LIMIT)
        assert finished, f"{getattr(fn, '__name__', fn)} still running after {_LIMIT:.0f} s"
        kind, value = receiver.recv()
    finally:
        child.kill()
        child.join()
    if kind == "error":
        raise value
    return value


def _growth(fn: Callable[[int], object], n: int) -> float:
    """How much longer `fn(8 * n)` takes than `fn(n)`: best of five each, robust to a loaded machine."""

    def best(size: int) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            fn(size)
            times.append(time.perf_counter() - started)
        return min(times)

    def ratio() -> float:
        best(n)  # warm caches and lazy imports
        return best(8 * n) / max(best(n), 1e-6)

    growth: float = _bounded(ratio)
    return growth


def _rss(description: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>Story</title><link>https://x.example/1</link><description>{description}"
        "</description></item></channel></rss>"
    ).encode()


def test_html_to_text_on_300_kb_of_angle_brackets_returns() -> None:
    assert _bounded(html_to_text, "<" * 300_000).startswith("<<<")


def test_html_to_text_grows_linearly() -> None:
    def ten_fragments(n: int) -> None:  # one call takes about a millisecond: too short to time alone
        for _ in range(10):
            html_to_text("<" * n)

    assert _growth(ten_fragments, 10_000) < 24


def test_html_to_text_still_reads_markup() -> None:
    fragment = "<p>Frigate <b>deal</b> signed</p><!-- ad --><script>var x = 1;</script><p>AT&amp;T &lt;3</p>"
    assert html_to_text(fragment) == "Frigate deal signed AT&T <3"


def test_json_feed_of_angle_brackets_parses() -> None:
    feed = {"version": "https://jsonfeed.org/version/1.1", "items": [
        {"id": "1", "url": "https://x.example/1", "title": "<" * 300_000, "content_html": "<" * 300_000},
    ]}
    (entry,) = _bounded(parse_feed, json.dumps(feed).encode(), "https://x.example/feed.json")
    assert entry.url == "https://x.example/1" and len(entry.summary) <= 2000


def test_rss_description_of_angle_brackets_parses() -> None:
    (entry,) = _bounded(parse_feed, _rss("&lt;" * 300_000), "https://x.example/feed.xml")
    assert entry.title == "Story" and entry.summary.startswith("<<<")


def _link_page(n: int) -> bytes:
    # The reported page: `<link ` over and over; `</head>` at the end made the head regexes scan it all.
    return ("<html><head><title>x</title>" + "<link " * n + "</head><body><p>hi</p></body></html>").encode()


def test_page_of_link_tags_is_extracted_in_bounded_time() -> None:
    result = _bounded(extract_article, _link_page(60_000), "https://x.example/a", fallback_title="T")
    assert result.title  # it returned; what it found on such a page does not matter


def test_page_of_link_tags_grows_linearly() -> None:
    assert _growth(lambda n: extract_article(_link_page(n), "https://x.example/a"), 5_000) < 24


def test_head_metadata_is_still_read_without_regexes() -> None:
    page = (
        '<html lang="en-GB"><head><meta property="og:title" content="Frigate &amp; deal">'
        '<meta property="article:published_time" content="2026-03-02T09:00:00+08:00">'
        '<link rel="Canonical" href="https://x.example/frigate?a=1&amp;b=2"></head><body><article>'
        + "<p>The frigate deal was signed in Manila on Monday by both navies.</p>" * 20
        + "</article></body></html>"
    ).encode()
    result = extract_article(page, "https://x.example/frigate?utm_source=x")
    assert (result.title, result.language) == ("Frigate & deal", "en-gb")
    assert result.canonical_url == "https://x.example/frigate?a=1&b=2"
    assert result.date == "2026-03-02T09:00:00+08:00"


def _listing(href: str) -> bytes:
    return f'<html><body><a href="{href}">A story</a><a href="/news/ok-1">OK</a></body></html>'.encode()


def test_nested_repeat_link_pattern_returns() -> None:
    # `re` needs about 2**40 steps for this URL; the `regex` engine does not backtrack into it.
    entries = _bounded(extract_links, _listing("/" + "a" * 40 + "!"), "https://x.example/",
                       link_pattern="(a+)+$")
    assert entries == []


def test_catastrophic_link_pattern_fails_the_source_with_its_name() -> None:
    # Exponential in `regex` too: the per-match timeout stops it, and the error names the pattern.
    with pytest.raises(FeedError, match=r"link_pattern '\(a\|aa\)\+\$' took over .* rewrite it"):
        _bounded(extract_links, _listing("/" + "a" * 60 + "!"), "https://x.example/", link_pattern="(a|aa)+$")
    assert PATTERN_TIMEOUT < _LIMIT


def test_ordinary_link_patterns_still_match() -> None:
    entries = extract_links(_listing("/news/2026/story-one"), "https://x.example/", link_pattern=r"/news/\d{4}/")
    assert [e.url for e in entries] == ["https://x.example/news/2026/story-one"]


def test_config_validation_uses_the_crawl_engine() -> None:
    from scheduler.config import _SourceModel

    # `\p{L}` is valid for the crawl's engine (`regex`) but not for `re`: config must accept it.
    source = _SourceModel.model_validate({"name": "s", "kind": "listing", "url": "https://x.example/",
                                          "link_pattern": r"/\p{L}+-\d+$"})
    assert source.link_pattern == r"/\p{L}+-\d+$"
    assert compile_link_pattern(r"/\p{L}+-\d+$").search("https://x.example/ä-1")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        _SourceModel.model_validate({"name": "s", "kind": "listing", "url": "https://x.example/",
                                     "link_pattern": "(unclosed"})


def test_megabyte_long_links_are_skipped_not_canonicalised() -> None:
    # Canonicalising a 300 KB URL takes seconds; a 5 MB feed of them took minutes.
    items = "".join(f"<item><title>Long {i}</title><link>https://x.example/?{'a=1&amp;' * 60_000}</link></item>"
                    for i in range(3))
    body = (f'<rss version="2.0"><channel><title>t</title>{items}'
            "<item><title>Short</title><link>https://x.example/short</link></item></channel></rss>").encode()
    entries = _bounded(parse_feed, body, "https://x.example/feed.xml")
    assert [e.url for e in entries] == ["https://x.example/short"]
