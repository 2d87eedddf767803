"""Decode feeds, sitemaps and pages whose bytes and declared charset disagree.

Asian news feeds are often in legacy encodings, and often declare a narrower one than they use
(`euc-kr` with CP949 characters, `gb2312` with GBK ones, `big5` with HKSCS ones). `decode_markup()`
maps each declared charset to the superset browsers use (the WHATWG Encoding Standard does the same),
tries the HTTP header's charset, the document's own declaration, UTF-8, and only then guesses with
charset_normalizer, so a server sending the wrong `charset=` still yields readable text.
`gunzip_capped()` inflates gzip bodies served without Content-Encoding (sitemaps, feeds) with a size cap.
Every regex here runs on a bounded prefix (4 KB of the document, a header value) or is anchored at the
start, so a hostile document costs linear time. Settings read: none.
"""

from __future__ import annotations

import codecs
import logging
import re
import zlib
from collections.abc import Iterable, Mapping

import charset_normalizer

from crawler.errors import FeedError

logger = logging.getLogger(__name__)

_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030",
    "csgb2312": "gb18030", "euc-cn": "gb18030", "hz-gb-2312": "gb18030",
    "big5": "big5hkscs", "big5-tw": "big5hkscs", "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "korean": "cp949", "ks_c_5601": "cp949", "ksc5601": "cp949",
    "windows-949": "cp949", "uhc": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "csshiftjis": "cp932",
    "euc-jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004",
    "tis-620": "cp874", "iso-8859-11": "cp874", "windows-874": "cp874", "tis620": "cp874",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "utf8": "utf-8",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^<>]{1,1000}?charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# What news feeds actually use: guesses are limited to these first (short texts fool a free guess).
_LIKELY = ["utf_8", "big5", "gb18030", "cp949", "cp932", "euc_jp", "cp874", "cp1252", "cp1251", "iso8859_2"]
# A declared charset that decodes with fewer replacement characters than this share is kept.
_TOLERATED_ERRORS = 0.002


def normalise_charset(name: str | None) -> str | None:
    """The Python codec to use for a declared charset, widened to the superset browsers use.

    Returns:
        A codec name, or None when `name` is empty or not a known encoding.
    """
    if not name:
        return None
    key = name.strip().strip("\"'").lower()
    key = _SUPERSETS.get(key, key)
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def header_charset(headers: Mapping[str, str] | None) -> str | None:
    """The charset named by a Content-Type header, if any (header names are matched case-insensitively)."""
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            match = _HEADER_CHARSET.search(value)
            return match.group(1) if match else None
    return None


def declared_charset(body: bytes) -> str | None:
    """The encoding declared inside a document: the XML declaration or an HTML `<meta charset>`."""
    head = body[:4096]
    match = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _candidates(body: bytes, headers: Mapping[str, str] | None) -> Iterable[str]:
    seen: set[str] = set()
    for name in (header_charset(headers), declared_charset(body), "utf-8"):
        codec = normalise_charset(name)
        if codec and codec not in seen:
            seen.add(codec)
            yield codec


def decode_markup(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Decode an XML or HTML document to text, whatever its declared charset says.

    Args:
        body: the raw bytes.
        headers: the response headers (for `Content-Type: ...; charset=`), or None.

    Returns:
        `(text, codec)`: the decoded text and the codec that produced it.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, "replace"), codec
    candidates = list(_candidates(body, headers))
    for codec in candidates:
        try:
            return body.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    # Nothing decodes cleanly: keep a declared codec that is only slightly off (a few stray bytes,
    # as in real Big5 feeds), otherwise ask charset_normalizer.
    for codec in candidates:
        if codec == "utf-8" and len(candidates) > 1:
            continue
        text = body.decode(codec, "replace")
        if text.count("\ufffd") <= max(2, len(text) * _TOLERATED_ERRORS):
            return text, codec
    best = charset_normalizer.from_bytes(body[:200_000], cp_isolation=_LIKELY).best()
    if best is None:
        best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        codec = normalise_charset(best.encoding) or best.encoding
        logger.debug("guessed encoding %s (declared %s)", codec, candidates)
        return body.decode(codec, "replace"), codec
    return body.decode("cp1252", "replace"), "cp1252"


def to_utf8_xml(body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    """Re-encode an XML document as UTF-8 and make its XML declaration say so (for lxml/feedparser)."""
    text, _codec = decode_markup(body, headers)
    text = text.lstrip("\ufeff")
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""", r'\1"utf-8"', text, count=1)
    return text.encode("utf-8")


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
