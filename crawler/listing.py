"""Pick article links from a section page (the `listing` source kind).

A listing source names a section page and a rule: a CSS selector (`link_selector`, matching `<a>`
elements or their containers), a URL regex (`link_pattern`), or both (a link must pass both). Without
a rule, a conservative default keeps same-site links whose path looks like an article (a date or a long
id, or a slug of several words). Link text becomes the entry title.

`link_pattern` is written by the user and runs on attacker-chosen URLs, so it is compiled with the
`regex` package (the same syntax as `re`) and every match gets `PATTERN_TIMEOUT` seconds: a pattern that
backtracks catastrophically (`(a+)+$`) fails the source with a message naming the pattern, instead of
holding the process for hours. URLs longer than `crawler.feeds.MAX_URL_CHARS` are skipped. `scheduler.config`
validates patterns with `compile_link_pattern()`, so config and crawl accept the same syntax.
Settings read: none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import regex
from parsel import Selector

from crawler.canonical import canonicalize_url, same_site
from crawler.encoding import decode_markup
from crawler.errors import FeedError
from crawler.feeds import MAX_URL_CHARS, FeedEntry, html_to_text

logger = logging.getLogger(__name__)

_ARTICLE_PATH = re.compile(r"(/20\d\d[/-]\d\d?[/-]|\d{5,}|/[a-z0-9]+(?:-[a-z0-9]+){3,})", re.IGNORECASE)


# Seconds one `link_pattern` search may take on one URL; sane patterns need microseconds.
PATTERN_TIMEOUT = 0.5


def compile_link_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile a listing source's `link_pattern` with the engine the crawl uses (`regex`, `re` syntax).

    Raises:
        ValueError: the pattern is not a valid regular expression (the message says why).
    """
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None


def _default_rule(link: str, page_url: str) -> bool:
    return same_site(link, page_url) and bool(_ARTICLE_PATH.search(urlsplit(link).path))


def _pattern_matches(pattern: regex.Pattern[str], link: str) -> bool:
    try:
        return pattern.search(link, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        raise FeedError(
            f"listing rule link_pattern {pattern.pattern!r} took over {PATTERN_TIMEOUT} s on one URL "
            f"({link[:120]}): it backtracks catastrophically (nested repeats such as '(a+)+'); "
            "rewrite it without nested or overlapping repeats"
        ) from None


def extract_links(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    link_selector: str | None = None,
    link_pattern: str | None = None,
) -> list[FeedEntry]:
    """Article links of a section page, in page order, each once (by canonical URL).

    Args:
        body: the raw HTML.
        url: the page URL, for relative links.
        headers: response headers (charset).
        link_selector: CSS selector for article links or their containers.
        link_pattern: regex an article URL must match (searched anywhere in the absolute URL).

    Returns:
        Entries with `url` and `title` (the link text).

    Raises:
        FeedError: the page is not HTML, the selector/pattern is invalid, or the pattern runs past
            `PATTERN_TIMEOUT` on a URL.
    """
    text, _codec = decode_markup(body, headers)
    if "<" not in text[:2000] and "<" not in text:
        raise FeedError(f"listing page {url} is not HTML")
    try:
        pattern = compile_link_pattern(link_pattern) if link_pattern else None
    except ValueError as exc:
        raise FeedError(f"listing rule link_pattern {link_pattern!r} is {exc}") from exc
    page = Selector(text=text, base_url=url)
    try:
        scope = page.css(link_selector) if link_selector else page.css("a[href]")
    except Exception as exc:  # cssselect raises its own SelectorSyntaxError
        raise FeedError(f"listing rule link_selector {link_selector!r} is not valid CSS: {exc}") from exc
    anchors = []
    for node in scope:
        if getattr(node.root, "tag", None) == "a":
            anchors.append(node)
        else:
            anchors.extend(node.css("a[href]"))
    seen: set[str] = set()
    entries = []
    for anchor in anchors:
        href = (anchor.attrib.get("href") or "").strip()
        if not href or len(href) > MAX_URL_CHARS or href.startswith(("#", "javascript:", "mailto:")):
            continue
        link = urljoin(url, href)
        if urlsplit(link).scheme not in ("http", "https"):
            continue
        if pattern is not None:
            if not _pattern_matches(pattern, link):
                continue
        elif not link_selector and not _default_rule(link, url):
            continue
        key = canonicalize_url(link)
        if key in seen or key == canonicalize_url(url):
            continue
        seen.add(key)
        entries.append(FeedEntry(url=link, title=html_to_text(" ".join(anchor.css("::text").getall()))))
    return entries
