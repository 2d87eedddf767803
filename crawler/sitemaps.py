"""Parse XML sitemaps, sitemap indexes and Google News sitemaps into entries.

A `<urlset>` yields one `FeedEntry` per `<url>` (title and date from `news:title` and
`news:publication_date`, else `lastmod`); a `<sitemapindex>` yields child sitemap references with
their `lastmod`, so the spider follows only recently changed ones. Gzipped sitemaps (`.xml.gz`) are
inflated here with a size cap. lxml gets bytes, never `str` (it rejects a `str` that carries an encoding
declaration). Settings read: none (the size cap is an argument).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree

from crawler.encoding import to_utf8_xml
from crawler.errors import FeedError
from crawler.feeds import FeedEntry, html_to_text, iso_datetime

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """A child sitemap named by a sitemap index."""

    url: str
    lastmod: str | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    """What one sitemap document lists: article entries, or child sitemaps (for an index).

    `entries_without_loc` / `sitemaps_without_loc` count `<url>` / `<sitemap>` elements skipped for
    lacking a `<loc>` (so a crawl can say why it found nothing).
    """

    entries: list[FeedEntry] = field(default_factory=list)
    sitemaps: list[SitemapRef] = field(default_factory=list)
    entries_without_loc: int = 0
    sitemaps_without_loc: int = 0


def gunzip_capped(body: bytes, max_bytes: int) -> bytes:
    """Inflate a gzip body, refusing to produce more than `max_bytes` (a gzip bomb costs nothing).

    Raises:
        FeedError: the data is not gzip, or inflates past the cap.
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise FeedError(f"bad gzip data: {exc}") from exc
    if len(out) > max_bytes:
        raise FeedError(f"gzip data inflates past {max_bytes} bytes")
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element.iter():
        if _local(child.tag) == name and child.text and child.text.strip():
            text: str = child.text.strip()
            return text
    return None


def parse_sitemap(
    body: bytes, url: str, headers: Mapping[str, str] | None = None, *, max_bytes: int = 50 * 1024 * 1024
) -> Sitemap:
    """Parse a sitemap or sitemap index.

    Args:
        body: the raw response body; gzip is detected by its magic bytes and inflated.
        url: the sitemap URL (for relative locations and error messages).
        headers: the response headers, for the charset.
        max_bytes: the most an inflated gzip sitemap may hold.

    Returns:
        A `Sitemap` with entries (newest information kept as found) or child sitemap references.

    Raises:
        FeedError: the body is not a sitemap.
    """
    if body[:2] == b"\x1f\x8b":
        body = gunzip_capped(body, max_bytes)
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(to_utf8_xml(body, headers), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"sitemap {url} could not be parsed: {exc}") from exc
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        found = _local(root.tag) if root is not None else "nothing"
        raise FeedError(f"sitemap {url} has root <{found}>, expected <urlset> or <sitemapindex>")
    if _local(root.tag) == "sitemapindex":
        refs = []
        missing = 0
        for node in root:
            if _local(node.tag) == "sitemap" and (loc := _child_text(node, "loc")):
                refs.append(SitemapRef(urljoin(url, loc), iso_datetime(_child_text(node, "lastmod"))))
            elif _local(node.tag) == "sitemap":
                missing += 1
        return Sitemap(sitemaps=refs, sitemaps_without_loc=missing)
    entries = []
    missing = 0
    for node in root:
        if _local(node.tag) != "url" or not (loc := _child_text(node, "loc")):
            missing += _local(node.tag) == "url"
            continue
        date = _child_text(node, "publication_date") or _child_text(node, "lastmod")
        entries.append(
            FeedEntry(
                url=urljoin(url, loc),
                title=html_to_text(_child_text(node, "title") or ""),
                published=iso_datetime(date),
            )
        )
    return Sitemap(entries=entries, entries_without_loc=missing)
