"""Parse RSS 0.9x/2.0, RSS 1.0 (RDF), Atom and JSON Feed documents into feed entries.

Bytes are decoded by `crawler.encoding` first (legacy Asian encodings, wrong `charset=` headers), then
handed to feedparser as UTF-8; JSON Feed is parsed directly (also after a UTF-8 BOM). A body served as raw
gzip (magic bytes, no Content-Encoding) is inflated with a cap. A feed that is slightly malformed but still
yields entries is accepted (most real feeds are); one that yields nothing raises `FeedError`.

Feeds are attacker-controlled input, so every step here is bounded: HTML fragments are parsed with lxml
(never a backtracking tag regex, which took minutes on a 300 KB run of `<`) and cut to
`_MAX_FRAGMENT_CHARS` first, date strings longer than `_MAX_DATE_CHARS` are not parsed at all, and
links longer than `MAX_URL_CHARS` are skipped. Links of other schemes (`javascript:`, `file:`, `tag:`…)
are kept: the spider skips and counts them, so a crawl can say why a feed gave nothing.
An entry's link is the item's `link`/`url`; an Atom or JSON Feed `id` is used only when it is itself an
absolute http(s) URL (the specs call it opaque: resolving it against the feed URL invents addresses).
Settings read: none (the gzip cap is an argument).
"""

from __future__ import annotations

import calendar
import codecs
import email.utils
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_date
from lxml import etree
from lxml import html as lxml_html

from crawler.encoding import gunzip_capped, to_utf8_xml
from crawler.errors import FeedError
from crawler.timeutil import iso

logger = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
# Titles and summaries are cut to 2,000 characters after conversion; this much markup is plenty for that.
_MAX_FRAGMENT_CHARS = 100_000
# The longest real date string seen is about 40 characters; longer ones are junk (and feed regexes).
_MAX_DATE_CHARS = 100
# Longer links are skipped: no article URL is this long, and every per-URL step (canonicalisation) is
# linear in it, so a feed of megabyte-long links would cost minutes.
MAX_URL_CHARS = 4096
# A feed served as raw gzip without a cap from the caller inflates to at most this (CrawlOptions' default).
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, sitemap or listing page: an article URL and what the index says about it.

    Attributes:
        url: absolute article URL as published (not yet canonicalised).
        title: the item title as plain text ("" when the index has none).
        summary: the item description as plain text.
        published: ISO 8601 date-time with time zone, or None when the index gives no date.
        authors: author names.
    """

    url: str
    title: str = ""
    summary: str = ""
    published: str | None = None
    authors: tuple[str, ...] = ()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed titles and summaries): tags, scripts and comments dropped.

    The fragment is parsed by lxml's HTML parser (linear time on any input, including a long run of
    `<`), after being cut to `_MAX_FRAGMENT_CHARS`. Entities are decoded once; runs of whitespace
    become one space.
    """
    if not fragment:
        return ""
    fragment = fragment[:_MAX_FRAGMENT_CHARS]
    if "<" not in fragment and "&" not in fragment:
        return _SPACE.sub(" ", fragment).strip()
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):  # nothing parseable (lxml rejects some control characters)
        return _SPACE.sub(" ", fragment.replace("<", " ").replace(">", " ")).strip()
    etree.strip_elements(root, "script", "style", with_tail=False)
    return _SPACE.sub(" ", " ".join(root.itertext())).strip()


def is_http_url(value: object) -> bool:
    """Whether `value` is an absolute http(s) URL with a host, at most `MAX_URL_CHARS` long."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # e.g. an invalid IPv6 literal
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _iso_from_struct(value: time.struct_time | None) -> str | None:
    if not value:
        return None
    try:
        return iso(datetime.fromtimestamp(calendar.timegm(value), UTC))
    except (OverflowError, ValueError, OSError):
        return None


def iso_datetime(value: str | None) -> str | None:
    """Normalise an ISO 8601-ish date string (JSON Feed, sitemaps) to ISO with a time zone, or None."""
    if not value or len(value) > _MAX_DATE_CHARS:
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return _iso_from_struct(_feedparser_date(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat(timespec="seconds")


_MONTHS = {
    "jan": "Jan", "janv": "Jan", "ene": "Jan", "fev": "Feb", "fév": "Feb", "feb": "Feb", "févr": "Feb",
    "mar": "Mar", "mär": "Mar", "mars": "Mar", "abr": "Apr", "avr": "Apr", "apr": "Apr", "mai": "May",
    "may": "May", "jun": "Jun", "juin": "Jun", "jul": "Jul", "juil": "Jul", "ago": "Aug", "aug": "Aug",
    "août": "Aug", "set": "Sep", "sep": "Sep", "sept": "Sep", "out": "Oct", "oct": "Oct", "okt": "Oct",
    "nov": "Nov", "dez": "Dec", "dic": "Dec", "déc": "Dec", "dec": "Dec",
}


def loose_date(raw: str | None) -> str | None:
    """Parse the feed dates feedparser rejects: `13:08:54+0900` (no space), non-English month names.

    Returns:
        ISO 8601 with time zone, or None.
    """
    if not raw or len(raw) > _MAX_DATE_CHARS:
        return None
    text = re.sub(r"^\s*[^\d\s,]+,\s*", "", raw.strip())  # weekday in any language
    text = re.sub(r"(\d\d:\d\d(?::\d\d)?)([+-]\d{4})$", r"\1 \2", text)
    text = re.sub(
        r"\b([^\W\d_]{3,5})\.?\b",
        lambda m: _MONTHS.get(m.group(1).lower(), m.group(1)),
        text,
    )
    return iso_datetime(text)


def _authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for author in entry.get("authors") or []:
        name = (author.get("name") if isinstance(author, Mapping) else str(author)) or ""
        if name.strip() and name.strip() not in names:
            names.append(name.strip())
    if not names and entry.get("author"):
        names.append(str(entry["author"]).strip())
    return tuple(names)


def _parse_json_feed(body: bytes, url: str) -> list[FeedEntry]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"feed {url} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FeedError(f"feed {url} is JSON but not a JSON Feed (no 'items' list)")
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not isinstance(link, str) or not link.strip():
            link = item.get("id") if is_http_url(item.get("id")) else None  # `id` is opaque unless a URL
        if not isinstance(link, str) or not link.strip():
            continue
        link = urljoin(url, link.strip())
        if len(link) > MAX_URL_CHARS:
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        summary = (
            item.get("summary") or item.get("content_text") or html_to_text(item.get("content_html", ""))
        )
        entries.append(
            FeedEntry(
                url=link,
                title=html_to_text(str(item.get("title") or "")),
                summary=html_to_text(str(summary))[:2000],
                published=iso_datetime(item.get("date_published") or item.get("date_modified")),
                authors=tuple(a["name"] for a in authors if isinstance(a, dict) and a.get("name")),
            )
        )
    return entries


def parse_feed(
    body: bytes, url: str, headers: Mapping[str, str] | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[FeedEntry]:
    """Parse a feed document into entries, in document order.

    Args:
        body: the raw response body (any encoding; decoded here; raw gzip is inflated).
        url: the feed URL, used to resolve relative links and in error messages.
        headers: the response headers, for the `Content-Type` charset.
        max_bytes: the most a raw-gzip body may inflate to (pass the crawl's `max_page_bytes`).

    Returns:
        The entries that have a link. An empty list for a valid feed with no items.

    Raises:
        FeedError: the body is not a feed (an HTML page, an error page, garbage, broken XML with no items).
    """
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip_capped(body, max_bytes)
        except FeedError as exc:
            raise FeedError(f"feed {url} is gzip data that cannot be read: {exc}") from exc
    stripped = body.lstrip()
    if stripped.startswith(codecs.BOM_UTF8):
        stripped = stripped[len(codecs.BOM_UTF8) :].lstrip()
    if stripped[:1] == b"{":
        return _parse_json_feed(stripped, url)
    if not stripped:
        raise FeedError(f"feed {url} is empty")
    utf8 = to_utf8_xml(body, headers)
    parsed = feedparser.parse(
        utf8,
        # No content-location: feedparser would resolve opaque ids against it; links are joined below.
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = parsed.get("bozo_exception") or "no RSS/Atom/RDF root element"
        raise FeedError(f"feed {url} could not be parsed: {reason}")
    if parsed.bozo:
        logger.debug("feed %s is malformed but readable: %s", url, parsed.get("bozo_exception"))
    entries = []
    for entry in parsed.entries:
        hrefs = [lnk["href"] for lnk in entry.get("links", []) if lnk.get("href")]
        link = entry.get("link")
        if entry.get("guidislink"):  # feedparser copied an RSS guid / Atom id into `link`
            link = link if link in hrefs else next(iter(hrefs), None)
        link = link or next(iter(hrefs), None)
        if not link and is_http_url(entry.get("id")):  # an id is opaque unless it is a URL
            link = entry["id"]
        link = urljoin(url, link.strip()) if link else ""
        if not link or len(link) > MAX_URL_CHARS:
            continue
        summary = entry.get("summary") or ""
        entries.append(
            FeedEntry(
                url=link,
                title=html_to_text(entry.get("title", "")),
                summary=html_to_text(summary)[:2000],
                published=_iso_from_struct(
                    entry.get("published_parsed")
                    or entry.get("updated_parsed")
                    or entry.get("created_parsed")
                )
                or loose_date(entry.get("published") or entry.get("updated")),
                authors=_authors(entry),
            )
        )
    if not entries and parsed.bozo:
        raise FeedError(f"feed {url} could not be parsed: {parsed.get('bozo_exception')}")
    return entries
