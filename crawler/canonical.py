"""URL canonicalisation: collapse the variants of one article URL into one key.

Feeds, sitemaps and share links name one article in many ways: tracking parameters (`utm_*`,
`fbclid`...), fragments, AMP and mobile variants, `index.html`, trailing slashes, host case, default
ports. `canonicalize_url()` maps them all to one string, which the store uses as the article's unique key
(the seen-URL table holds the same keys). Redirects are handled by the caller: the final URL of a
response is canonicalised, and every URL on the way is recorded as seen. Settings read: none.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3lib_canonicalize

logger = logging.getLogger(__name__)

# Parameters that identify a campaign, a click or a share, never the article.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "twclid", "igshid", "igsh", "mc_cid",
        "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi", "hsctatracking", "vero_id", "oly_anon_id",
        "oly_enc_id", "rb_clickid", "s_cid", "s_kwcid", "ncid", "ocid", "cmpid", "cmp", "icid",
        "ito", "intcmp", "sr_share", "share", "shared", "spm", "scm", "at_medium", "at_campaign",
        "at_custom1", "at_custom2", "at_custom3", "at_custom4", "ref", "ref_src", "ref_url", "referrer",
        "feedtype", "rss", "smid", "smtyp",
        "__twitter_impression", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
        "wt.mc_id", "wt_mc", "cx_testid", "cx_testvariant", "cxrecs_s", "amp", "amp_js_v", "usqp",
        "outputtype", "output", "platform", "m", "mobile", "utm",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "at_", "trk_", "__s")
_AMP_OUTPUT_VALUES = frozenset({"amp", "1", "true", "mobile"})
_INDEX_FILE = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|jsp|shtml)$", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"(?:/amp|/amp\.html?|\.amp)$", re.IGNORECASE)
_AMP_INFIX = re.compile(r"\.amp(\.html?)$", re.IGNORECASE)
_MOBILE_HOST_LABELS = ("m.", "mobile.", "amp.", "mobil.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str, value: str) -> bool:
    key = name.lower()
    if key in {"amp", "outputtype", "output", "m", "mobile", "platform"}:
        # only an AMP/mobile switch is noise; `?output=json` or `?m=2024` may select content
        return value.lower() in _AMP_OUTPUT_VALUES or value == ""
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _canonical_host(host: str) -> str:
    host = host.lower().rstrip(".")
    for label in _MOBILE_HOST_LABELS:
        if host.startswith(label) and host.count(".") >= 2:
            rest = host[len(label):]
            # m.example.com -> www.example.com (the usual desktop host); m.news.example.com -> news...
            return "www." + rest if rest.count(".") == 1 else rest
    return host


def _canonical_path(path: str) -> str:
    path = _INDEX_FILE.sub("/", path)
    if path.lower().startswith("/amp/"):
        path = path[4:]
    path = _AMP_INFIX.sub(r"\1", path)
    path = _AMP_SUFFIX.sub("", path.rstrip("/") or "/")
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    return path or "/"


def canonicalize_url(url: str) -> str:
    """The canonical form of an article URL, used as its unique key in the store.

    Lower-cases scheme and host, drops default ports, fragments and tracking parameters
    (`utm_*`, `fbclid`, `gclid`...), maps AMP and mobile variants (`/amp`, `.amp.html`, `?amp=1`,
    `amp.` / `m.` hosts) and `index.html` to the plain article URL, removes trailing slashes, sorts
    the remaining query parameters and normalises percent-escapes.

    Args:
        url: an absolute http(s) URL as found in a feed, a page or a redirect.

    Returns:
        The canonical URL. A URL that is not http(s) is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = _canonical_host(parts.hostname)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v)]
    rebuilt = urlunsplit((scheme, netloc, _canonical_path(parts.path or "/"), urlencode(query), ""))
    return _w3lib_canonicalize(rebuilt, keep_fragments=False)


def same_site(url_a: str, url_b: str) -> bool:
    """Whether two URLs are on one site (hosts equal after dropping `www.`/mobile prefixes)."""

    def _site(url: str) -> str:
        host = _canonical_host(urlsplit(url).hostname or "")
        return host[4:] if host.startswith("www.") else host

    return _site(url_a) == _site(url_b) != ""
