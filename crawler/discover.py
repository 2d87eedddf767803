"""Find what an outlet offers to crawl, given its homepage or a section page: feeds, news sitemaps, a listing rule.

Users know an outlet's address, not its feed's. ``newswatch sources add URL`` calls
:func:`discover`, which looks where outlets publish them, in order of how good a source each makes:

1. **Feeds** the page announces (``<link rel="alternate">`` of an RSS, Atom or JSON Feed type) and
   feeds at the paths content systems use by default (``/feed``, ``/rss.xml``, ``/atom.xml``…);
2. **Sitemaps** named by the site's ``robots.txt`` (``Sitemap:`` lines) or at the usual news-sitemap
   paths; an index is followed one level to its news (or newest) child;
3. **A listing rule**: the page's own article links, generalised into a ``link_pattern`` (the most
   common shape of their paths, digits and slugs turned into wildcards), for outlets with neither.

Every candidate is fetched and parsed with the crawler's own parsers, so what it shows (the titles of
its newest items) is what the crawl would get now; a candidate that fails to parse is not offered.
Fetches are plain ``requests`` calls with a timeout and a size cap: a one-off, user-started lookup
does not need Scrapy's machinery. URLs found in content go through the crawler's network policy
(``crawler.netpolicy.refusal``): a page cannot point discovery at a private address of another origin.

Settings read: none (the CLI passes ``crawl.allow_networks`` and the user agent).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

import requests
from lxml import etree
from lxml import html as lxml_html

from crawler.encoding import decode_markup
from crawler.errors import FeedError
from crawler.feeds import FeedEntry, parse_feed
from crawler.listing import compile_link_pattern, extract_links
from crawler.netpolicy import AllowList, parse_allow_networks, refusal
from crawler.sitemaps import parse_sitemap

logger = logging.getLogger(__name__)

Kind = Literal["feed", "sitemap", "listing"]
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml", "text/xml", "application/xml")
COMMON_FEED_PATHS = ("/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml",
                     "/rss/index.xml", "/feeds/all.atom.xml")
COMMON_SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_news.xml", "/sitemap-news.xml", "/sitemap.xml")
MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = 15.0
SHOWN = 5  # newest items shown per candidate
MIN_LISTING_LINKS = 4  # fewer article-like links than this is not a listing page

Fetcher = Callable[[str], "Fetched | None"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document: its final URL, body and headers."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One way to crawl the outlet, with what it yields now."""

    kind: Kind
    url: str
    found_by: str  # "announced by the page", "robots.txt", "common path", "the page's links"
    newest: tuple[FeedEntry, ...]
    items: int
    link_pattern: str | None = None

    def source(self, name: str, every: str = "10m", tags: Iterable[str] = ()) -> dict[str, object]:
        """The ``sources:`` entry of config.yaml for this candidate."""
        entry: dict[str, object] = {"name": name, "kind": self.kind, "url": self.url, "every": every}
        if self.link_pattern:
            entry["link_pattern"] = self.link_pattern
        if tags:
            entry["tags"] = list(tags)
        return entry


@dataclass
class Discovery:
    """Everything found for one URL, best candidates first, and what was tried."""

    url: str
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def http_fetcher(user_agent: str = "newswatch (sources add)", allow: AllowList | None = None,
                 start_url: str = "") -> Fetcher:
    """A fetcher with a timeout, a size cap, and the crawler's network policy for URLs found in content."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    allowed = allow or parse_allow_networks(())

    def fetch(url: str) -> Fetched | None:
        why = refusal(url, None, trusted_url=start_url or url, allow=allowed)
        if why:
            logger.info("not fetching %s: %s", url, why)
            return None
        try:
            with session.get(url, timeout=TIMEOUT, stream=True, allow_redirects=True) as response:
                if response.status_code != 200:
                    return None
                body = b""
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        return None
                return Fetched(response.url, body, {k.lower(): v for k, v in response.headers.items()})
        except requests.RequestException as exc:
            logger.info("could not fetch %s: %s", url, exc.__class__.__name__)
            return None

    return fetch


def _newest(entries: list[FeedEntry]) -> tuple[FeedEntry, ...]:
    dated = sorted((e for e in entries if e.published), key=lambda e: e.published or "", reverse=True)
    return tuple((dated or entries)[:SHOWN])


def _announced_feeds(page: str, base: str) -> list[str]:
    try:
        tree = lxml_html.fromstring(page)
    except (etree.ParserError, ValueError):
        return []
    found = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = link.get("href")
        if "alternate" in rel and kind in FEED_TYPES and href:
            found.append(urljoin(base, href.strip()))
    return found


def _try_feed(fetch: Fetcher, url: str, found_by: str) -> Candidate | None:
    fetched = fetch(url)
    if fetched is None:
        return None
    try:
        entries = parse_feed(fetched.body, fetched.url, fetched.headers)
    except FeedError:
        return None
    if not entries:
        return None
    return Candidate("feed", fetched.url, found_by, _newest(entries), len(entries))


def _try_sitemap(fetch: Fetcher, url: str, found_by: str, depth: int = 0) -> Candidate | None:
    fetched = fetch(url)
    if fetched is None:
        return None
    try:
        sitemap = parse_sitemap(fetched.body, fetched.url, fetched.headers)
    except FeedError:
        return None
    if sitemap.sitemaps and depth == 0:
        children = sorted(sitemap.sitemaps, key=lambda ref: ("news" not in ref.url.lower(), ref.lastmod or ""))
        news = [ref for ref in children if "news" in ref.url.lower()]
        newest = sorted(sitemap.sitemaps, key=lambda ref: ref.lastmod or "", reverse=True)
        for ref in (news or newest)[:2]:
            child = _try_sitemap(fetch, ref.url, f"{found_by}, index {fetched.url}", depth + 1)
            if child is not None:
                return child
        return None
    if not sitemap.entries:
        return None
    return Candidate("sitemap", fetched.url, found_by, _newest(sitemap.entries), len(sitemap.entries))


def _robots_sitemaps(fetch: Fetcher, url: str) -> list[str]:
    parts = urlsplit(url)
    fetched = fetch(f"{parts.scheme}://{parts.netloc}/robots.txt")
    if fetched is None:
        return []
    text = fetched.body[:MAX_BYTES].decode("utf-8", "replace")
    return [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.lower().startswith("sitemap:") and line.split(":", 1)[1].strip()]


_SLUG = re.compile(r"[^/]*[a-z][^/]*-[^/]*-[^/]*")  # two hyphens or more, with letters: a headline slug


def _shape(path: str) -> str:
    """A path with its variable parts as wildcards: digits → ``\\d+``, slugs and ids → ``[^/]+``."""
    segments = [s for s in path.split("/") if s]
    shaped = []
    for index, segment in enumerate(segments):
        if segment.isdigit():
            shaped.append(r"\d+")
        elif _SLUG.fullmatch(segment.lower()) or (index == len(segments) - 1 and any(c.isdigit() for c in segment)):
            shaped.append("[^/]+")
        else:
            shaped.append(re.escape(segment))
    return "/" + "/".join(shaped)


def propose_listing(fetched: Fetched) -> Candidate | None:
    """A listing rule from the page's own article links: the most common path shape among them."""
    try:
        links = extract_links(fetched.body, fetched.url, fetched.headers)
    except FeedError:
        return None
    host = urlsplit(fetched.url).netloc
    shapes = Counter(_shape(urlsplit(link.url).path) for link in links
                     if urlsplit(link.url).netloc == host and "[^/]+" in _shape(urlsplit(link.url).path))
    if not shapes:
        return None
    shape, count = shapes.most_common(1)[0]
    if count < MIN_LISTING_LINKS:
        return None
    pattern = "^https?://" + re.escape(host) + shape + "/?$"
    compile_link_pattern(pattern)  # the crawl's own engine must accept it
    matching = extract_links(fetched.body, fetched.url, fetched.headers, link_pattern=pattern)
    return Candidate("listing", fetched.url, "the page's links", tuple(matching[:SHOWN]), len(matching),
                     link_pattern=pattern)


def discover(url: str, fetch: Fetcher | None = None) -> Discovery:
    """Every way found to crawl the outlet at ``url``, feeds first, then sitemaps, then a listing rule.

    Args:
        url: the outlet's homepage or section page (http or https).
        fetch: how to fetch a URL (default: :func:`http_fetcher`); tests pass the same over loopback.
    """
    fetch = fetch or http_fetcher(start_url=url)
    result = Discovery(url)
    seen: set[str] = set()

    def add(candidate: Candidate | None) -> None:
        if candidate is not None and candidate.url not in seen:
            seen.add(candidate.url)
            result.candidates.append(candidate)

    page = fetch(url)
    if page is None:
        result.notes.append(f"could not fetch {url}")
        return result
    direct = _try_feed(lambda _u: page, page.url, "the URL itself")  # the user may have given a feed
    if direct is not None:
        add(direct)
        return result
    text, _codec = decode_markup(page.body)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    for feed_url in _announced_feeds(text, page.url):
        add(_try_feed(fetch, feed_url, "announced by the page"))
    if not result.candidates:
        for path in COMMON_FEED_PATHS:
            add(_try_feed(fetch, origin + path, "common path"))
            if result.candidates:
                break
    for sitemap_url in _robots_sitemaps(fetch, page.url):
        add(_try_sitemap(fetch, sitemap_url, "robots.txt"))
    if not any(c.kind == "sitemap" for c in result.candidates):
        for path in COMMON_SITEMAP_PATHS:
            add(_try_sitemap(fetch, origin + path, "common path"))
            if any(c.kind == "sitemap" for c in result.candidates):
                break
    add(propose_listing(page))
    if not result.candidates:
        result.notes.append("no feed, sitemap or article links found; add the source by hand (README: Sources)")
    return result
