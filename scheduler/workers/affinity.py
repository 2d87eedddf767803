"""Domain affinity: which worker crawls which site, so one site is only ever crawled by one worker.

Sources are grouped by the registrable domain of their URL (`site_key`: `www.bbc.co.uk` and
`feeds.bbc.co.uk` are both `bbc.co.uk`; an IP address or a bare host name is its own key), using
tldextract's bundled public suffix list: nothing is downloaded (Scrapy already depends on tldextract).
Each key goes to the live worker with the highest rendezvous score (highest-random-weight hashing,
`pick_worker`): every brain computes the same answer from the same worker list, and when a worker
joins or leaves only the sites it wins or held move. Settings read: none.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["group_by_worker", "pick_worker", "site_key"]


@functools.cache
def _extractor() -> Any:
    import tldextract

    # suffix_list_urls=() and no cache: the snapshot inside the package, never a download (offline).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def site_key(url: str) -> str:
    """The registrable domain of `url` (lower case), or its host when it has none (IPs, `localhost`).

    Args:
        url: an absolute http(s) URL.

    Returns:
        e.g. `bbc.co.uk` for `https://feeds.bbc.co.uk/news/rss.xml`, `127.0.0.2` for an IP.
    """
    host = (urlsplit(url).hostname or url).lower().rstrip(".")
    parts = _extractor()(host)
    domain = getattr(parts, "top_domain_under_public_suffix", None)
    if domain is None:  # tldextract before 5.3
        domain = parts.registered_domain
    return str(domain or host)


def _score(key: str, worker: str) -> int:
    digest = hashlib.blake2b(f"{worker}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def pick_worker(key: str, workers: Sequence[str]) -> str:
    """The worker that owns `key` among `workers` (rendezvous hashing; ties broken by name).

    Raises:
        ValueError: `workers` is empty.
    """
    if not workers:
        raise ValueError(f"no live worker to crawl {key}; start one with `newswatch worker`")
    return max(workers, key=lambda worker: (_score(key, worker), worker))


def group_by_worker(keys: Iterable[str], workers: Sequence[str]) -> dict[str, list[str]]:
    """Each live worker's share of `keys` (workers with no key are left out)."""
    shares: dict[str, list[str]] = {}
    for key in keys:
        shares.setdefault(pick_worker(key, workers), []).append(key)
    return shares
