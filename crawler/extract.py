"""Turn an article page into title, text, date, authors, language and lead image.

`extract_article()` wraps trafilatura: precision first (it drops more boilerplate: bylines, captions,
"read more" and newsletter boxes), recall only when precision keeps almost nothing. The publication date
keeps its time and zone when the page has one (JSON-LD `datePublished`, `article:published_time`...),
and the feed's title, summary and date fill whatever the page lacks. A page that is not HTML, empty or
unreadable yields the feed's title and summary with `extracted=False`; it never raises. The function is
pure and picklable, so `crawler.pool` runs it in worker processes (which bounds its time).
`<meta>`, `<link rel=canonical>` and `<html lang>` are read from an lxml tree, never with tag regexes (a
page of `<link ` made the canonical-link regex quadratic: minutes for 360 KB); the decoded page is cut to
`MAX_PAGE_CHARS`. `extract_file()` serves `newswatch extract FILE`. Settings read: none.
"""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from crawler.encoding import decode_markup
from crawler.feeds import iso_datetime
from crawler.language import detect_language

logger = logging.getLogger(__name__)

# Below this many characters a precision-first extraction is assumed to have cut the article.
_MIN_PRECISE_CHARS = 250
_JSONLD_DATE = re.compile(r""""datePublished"\s*:\s*"([^"]{8,40})\"""")
_HTML_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
# Decoded pages longer than this are cut before parsing (the crawl's max_page_bytes usually cuts first).
MAX_PAGE_CHARS = 4_000_000
_DATE_META_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate", "publishdate",
    "publish-date", "date", "dc.date.issued", "dcterms.created", "dc.date", "sailthru.date",
    "parsely-pub-date",
    "article.published", "og:published_time",
)
_LANG_META_KEYS = ("og:locale", "content-language", "language", "dc.language")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """What extraction found on a page (or the feed's fallbacks when it found nothing).

    Attributes:
        title: the headline ("" only when neither page nor feed has one).
        text: the body text, paragraphs separated by newlines (the feed summary when not extracted).
        date: publication date, ISO 8601; with time and zone when the page or feed gives them.
        authors: author names.
        language: a language tag such as "en" or "zh-tw", or None.
        image: the lead image URL, or None.
        canonical_url: the page's own `<link rel=canonical>` / `og:url`, or None.
        extracted: False when the text is the feed's summary (non-HTML, empty or unreadable page).
        reason: why extraction failed ("" when it worked): not_html, empty, no_text.
    """

    title: str
    text: str
    date: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    image: str | None = None
    canonical_url: str | None = None
    extracted: bool = True
    reason: str = ""


def _head(page: str) -> etree._Element | None:
    """The page's `<head>` as parsed by lxml (linear time on any markup), or the root when it has none."""
    try:
        root = lxml_html.document_fromstring(page)
    except (etree.ParserError, ValueError):
        return None
    head = root.find("head")
    return head if head is not None and len(head) else root


def _meta_tags(head: etree._Element | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in head.iter("meta") if head is not None else ():
        attrs = {str(k).lower(): str(v) for k, v in tag.attrib.items()}
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or attrs.get("http-equiv")
        key = key or ""
        if key and "content" in attrs:
            found.setdefault(key.lower(), attrs["content"].strip())
    return found


def _page_date(page: str, meta: dict[str, str]) -> str | None:
    match = _JSONLD_DATE.search(page)
    candidates = [match.group(1)] if match else []
    candidates += [meta[key] for key in _DATE_META_KEYS if meta.get(key)]
    for value in candidates:
        parsed = iso_datetime(value)
        if parsed and ("T" in value or " " in value.strip()):
            return parsed
    for value in candidates:
        if parsed := iso_datetime(value):
            return parsed[:10]
    return None


def _choose_date(page_date: str | None, meta_date: str | None, feed_date: str | None) -> str | None:
    """The most precise date that agrees with the others: a time with zone beats a bare day."""
    day = (page_date or meta_date or "")[:10]
    if page_date and len(page_date) > 10:
        return page_date
    if feed_date and (not day or feed_date[:10] == day):
        return feed_date
    return page_date or meta_date or feed_date


def _language(head: etree._Element | None, meta: dict[str, str]) -> str | None:
    html_element = head.getroottree().getroot() if head is not None else None
    declared = ""
    if html_element is not None:
        declared = html_element.get("lang") or html_element.get("xml:lang") or ""
    match = _HTML_LANG.match(declared.strip())
    value = match.group(0) if match else next((meta[k] for k in _LANG_META_KEYS if meta.get(k)), None)
    tag = value.replace("_", "-").lower() if value else None
    return tag if tag and _LANG_TAG.match(tag) else None


def _canonical_link(head: etree._Element | None, meta: dict[str, str]) -> str | None:
    for tag in head.iter("link") if head is not None else ():
        href = (tag.get("href") or "").strip()
        if "canonical" in (tag.get("rel") or "").lower().split() and href.startswith("http"):
            return href
    og_url = meta.get("og:url", "")
    return og_url if og_url.startswith("http") else None


_TITLE_SUFFIX = re.compile(r"\s*(?:\s[|\-–—]\s|[|｜ㅣ：]|\s::\s)\s*([^|｜ㅣ：]{1,30})$")
_LANG_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")


def clean_title(title: str, site_name: str | None = None) -> str:
    """A headline without the site name that pages append (`Story | Site`, `Story：朝日新聞デジタル`).

    A trailing segment is dropped when it names the site, or is short (at most 30 characters) beside
    a headline at least twice as long.
    """
    title = re.sub(r"\s+", " ", title[:2000]).strip()
    match = _TITLE_SUFFIX.search(title)
    if match:
        head, tail = title[: match.start()].strip(), match.group(1).strip()
        site = (site_name or "").lower()
        names_site = bool(site) and (site in tail.lower() or tail.lower() in site)
        if head and (names_site or len(head) >= 2 * len(tail)):
            return head
    return title


def _fallback(title: str, summary: str, date: str | None, reason: str, **found: Any) -> ExtractedArticle:
    found["language"] = detect_language(title, summary, found.get("language"))
    return ExtractedArticle(title=title, text=summary, date=date, extracted=False, reason=reason, **found)


def _run_trafilatura(page: str, url: str, *, precise: bool) -> Any:
    return trafilatura.bare_extraction(
        page,
        url=url,
        favor_precision=precise,
        include_comments=False,
        include_tables=False,
        with_metadata=True,
        deduplicate=False,
    )


def extract_article(
    html_bytes: bytes,
    url: str,
    *,
    fallback_title: str = "",
    fallback_summary: str = "",
    fallback_date: str | None = None,
) -> ExtractedArticle:
    """Extract an article from a page; fall back to the feed's title and summary when that fails.

    Args:
        html_bytes: the response body (any charset; it is decoded here).
        url: the page URL (trafilatura uses it for relative links and metadata).
        fallback_title: the feed's title, used when the page has none.
        fallback_summary: the feed's summary, used as text when nothing is extracted.
        fallback_date: the feed's date (ISO), used when the page has none or only a bare day.

    Returns:
        An `ExtractedArticle`; `extracted` is False, with `reason`, when the text is the feed summary.
        Never returns None and never raises for bad pages.
    """
    head_bytes = html_bytes[:1024].lstrip()
    if not html_bytes.strip():
        return _fallback(fallback_title, fallback_summary, fallback_date, "empty")
    if head_bytes.startswith(_BINARY_MAGIC) or b"\x00" in html_bytes[:1024]:
        return _fallback(fallback_title, fallback_summary, fallback_date, "not_html")
    page, _codec = decode_markup(html_bytes)
    if "<" not in page[:4096]:
        return _fallback(fallback_title, fallback_summary, fallback_date, "not_html")
    # lxml refuses a str that carries an XML encoding declaration; the text is decoded already.
    page = re.sub(r"^\s*<\?xml[^>]*\?>", "", page[:MAX_PAGE_CHARS], count=1)
    head = _head(page)
    meta = _meta_tags(head)
    found = {
        "language": _language(head, meta),
        "canonical_url": _canonical_link(head, meta),
        "image": meta.get("og:image") or meta.get("twitter:image") or None,
    }
    page_date = _page_date(page, meta)
    try:
        doc = _run_trafilatura(page, url, precise=True)
        if doc is None or len(doc.text or "") < _MIN_PRECISE_CHARS:
            recall = _run_trafilatura(page, url, precise=False)
            if recall is not None and len(recall.text or "") > len((doc.text if doc else "") or ""):
                doc = recall
    except Exception:  # trafilatura raises assorted lxml/ValueError errors on broken markup
        logger.warning("extraction crashed on %s", url, exc_info=True)
        doc = None
    if doc is None or not (doc.text or "").strip():
        return _fallback(fallback_title or (doc.title if doc else "") or "", fallback_summary,
                         _choose_date(page_date, None, fallback_date), "no_text", **found)
    authors = tuple(a.strip() for a in re.split(r";|\band\b", doc.author or "") if a.strip())
    title = clean_title(meta.get("og:title") or doc.title or "", meta.get("og:site_name") or doc.sitename)
    title = title or fallback_title
    declared = found["language"] or (doc.language if doc.language not in (None, "None") else None)
    return ExtractedArticle(
        title=title,
        text=doc.text.strip(),
        date=_choose_date(page_date, doc.date, fallback_date),
        authors=authors,
        language=detect_language(title, doc.text, declared),
        image=found["image"] or doc.image or None,
        canonical_url=found["canonical_url"],
        extracted=True,
    )


def extract_file(path: Path, url: str | None = None) -> dict[str, Any]:
    """Extract an article from a saved page (`.html` or `.html.gz`), for `newswatch extract FILE`.

    Args:
        path: the file.
        url: the page's URL if known (improves metadata); defaults to the page's canonical link.

    Returns:
        `{"file", "title", "text", "date", "authors", "language", "url"}` (authors as a list).

    Raises:
        OSError: the file cannot be read; gzip.BadGzipFile for a corrupt `.gz`.
    """
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    result = extract_article(data, url or path.resolve().as_uri())
    record = asdict(result)
    return {
        "file": str(path),
        "title": record["title"],
        "text": record["text"],
        "date": record["date"],
        "authors": list(record["authors"]),
        "language": record["language"],
        "url": url or result.canonical_url,
    }
