"""Parse XML sitemaps, sitemap indexes and Google News sitemaps into entries.

A `<urlset>` yields one `FeedEntry` per `<url>` (title and date from `news:title` and
`news:publication_date`, else `lastmod`); a `<sitemapindex>` yields child sitemap references with
their `lastmod`, so the spider follows only recently changed ones. Gzipped sitemaps (`.xml.gz`) are
inflated here with a size cap. A body that is not XML is read as a plain-text sitemap (one URL per
line, as sitemaps.org allows). Only http(s) locations are kept, at most `MAX_SITEMAP_URLS` of them (the
sitemaps.org limit); `<url>`/`<sitemap>` elements without a usable `<loc>` and text lines that are not
URLs are counted in `Sitemap.skipped_without_loc`, so a caller can say why a sitemap gave nothing.
lxml gets bytes, never `str` (it rejects a `str` that carries an encoding declaration).
Settings read: none (the size cap is an argument).
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree

from crawler.encoding import decode_markup, gunzip_capped, to_utf8_xml
from crawler.errors import FeedError
from crawler.feeds import MAX_URL_CHARS, FeedEntry, html_to_text, is_http_url, iso_datetime

__all__ = ["MAX_SITEMAP_URLS", "Sitemap", "SitemapRef", "gunzip_capped", "parse_sitemap"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """A child sitemap named by a sitemap index."""

    url: str
    lastmod: str | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    """What one sitemap document lists: article entries, or child sitemaps (for an index)."""

    entries: list[FeedEntry] = field(default_factory=list)
    sitemaps: list[SitemapRef] = field(default_factory=list)
    # `<url>`/`<sitemap>` elements with no `<loc>` (or an overlong one), or non-URL lines of a text
    # sitemap. A `<loc>` of another scheme is kept: the spider skips and counts it.
    skipped_without_loc: int = 0
    # Locations past `MAX_SITEMAP_URLS`, dropped.
    skipped_over_cap: int = 0
    # The document is a sitemap index (its skipped elements were child sitemaps, not URLs).
    index: bool = False


# sitemaps.org: "no more than 50,000 URLs" per sitemap file.
MAX_SITEMAP_URLS = 50_000


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str, *, direct: bool = False) -> str | None:
    """The text of the first descendant (or, with `direct`, child) named `name`, namespace ignored."""
    for child in element if direct else element.iter():
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
        A `Sitemap` with entries (newest information kept as found) or child sitemap references, and
        the count of elements skipped for lacking an http(s) `<loc>` (`skipped_without_loc`).

    Raises:
        FeedError: the body is not a sitemap.
    """
    if body[:2] == b"\x1f\x8b":
        body = gunzip_capped(body, max_bytes)
    probe = body.lstrip()
    if probe.startswith(codecs.BOM_UTF8):
        probe = probe[len(codecs.BOM_UTF8) :].lstrip()
    if probe and not probe.startswith(b"<"):
        return _parse_text_sitemap(body, url, headers)
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(to_utf8_xml(body, headers), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"sitemap {url} could not be parsed: {exc}") from exc
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        found = _local(root.tag) if root is not None else "nothing"
        raise FeedError(f"sitemap {url} has root <{found}>, expected <urlset> or <sitemapindex>")
    is_index = _local(root.tag) == "sitemapindex"
    refs: list[SitemapRef] = []
    entries: list[FeedEntry] = []
    skipped = over_cap = 0
    for node in root:
        if _local(node.tag) != ("sitemap" if is_index else "url"):
            continue
        loc = _child_text(node, "loc", direct=True)  # not an `<image:loc>` nested deeper
        location = urljoin(url, loc) if loc else ""
        if not location or len(location) > MAX_URL_CHARS:
            skipped += 1
            continue
        if len(refs) + len(entries) >= MAX_SITEMAP_URLS:
            over_cap += 1
            continue
        if is_index:
            refs.append(SitemapRef(location, iso_datetime(_child_text(node, "lastmod"))))
            continue
        date = _child_text(node, "publication_date") or _child_text(node, "lastmod")
        entries.append(
            FeedEntry(
                url=location,
                title=html_to_text(_child_text(node, "title") or ""),
                published=iso_datetime(date),
            )
        )
    if skipped or over_cap:
        logger.info("sitemap %s: %d entries without an http(s) <loc>, %d over the %d cap",
                    url, skipped, over_cap, MAX_SITEMAP_URLS)
    return Sitemap(entries=entries, sitemaps=refs, skipped_without_loc=skipped, skipped_over_cap=over_cap,
                   index=is_index)


def _parse_text_sitemap(body: bytes, url: str, headers: Mapping[str, str] | None) -> Sitemap:
    """A plain-text sitemap: one absolute http(s) URL per line; blank lines are ignored."""
    text, _codec = decode_markup(body, headers)
    entries: list[FeedEntry] = []
    skipped = over_cap = 0
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line:
            continue
        if not is_http_url(line) or any(ch.isspace() for ch in line):
            skipped += 1
        elif len(entries) >= MAX_SITEMAP_URLS:
            over_cap += 1
        else:
            entries.append(FeedEntry(url=line))
    if not entries:
        raise FeedError(
            f"sitemap {url} is neither XML nor a text sitemap (no line is an http(s) URL; "
            f"{skipped} non-URL lines)"
        )
    return Sitemap(entries=entries, skipped_without_loc=skipped, skipped_over_cap=over_cap)
