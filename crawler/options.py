"""Crawl options: the knobs a user may set for every crawl, in one frozen value.

`scheduler.config` builds one `CrawlOptions` from `config.yaml` and passes it down; the crawler never
reads the config file itself. `crawler.settings.scrapy_settings()` turns the options into Scrapy settings.
Settings read: none (this module defines them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from crawler.netpolicy import parse_allow_networks

DEFAULT_USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch)"


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    """How politely and how fast to crawl, and how long to remember seen URLs.

    Attributes:
        user_agent: the User-Agent header (also the robots.txt agent).
        download_timeout: seconds before one request is abandoned (covers slow-drip servers).
        max_page_bytes: a response larger than this (after decompression) is dropped.
        obey_robots_txt: honour robots.txt (robots files are cached per host for `robots_ttl`).
        robots_ttl: seconds a fetched robots.txt is reused across crawls in one process.
        concurrent_requests: requests in flight in one crawl, all hosts together.
        per_domain_concurrency: requests in flight to one host.
        download_delay: seconds between two requests to one host (before AutoThrottle adjusts).
        autothrottle: adapt the per-host delay to the server's latency.
        autothrottle_target_concurrency: AutoThrottle's target requests in parallel per host.
        max_redirects: redirects followed before a request fails.
        retry_times: retries of a request after a network error, 429 or 5xx (Retry-After honoured).
        max_retry_after: longest Retry-After (seconds) waited for inside one crawl; longer means failure.
        extraction_workers: processes that run extraction; 0 means one per CPU core.
        seen_url_days: days a fetched article URL is remembered and never fetched again.
        max_articles_per_source: article pages fetched from one source in one crawl (newest first).
        store_batch_size: articles written to SQLite in one transaction.
        allow_networks: CIDRs and host names that URLs found in content (entry links, child sitemaps,
            redirects) may reach although they are not public (loopback, private, link-local...);
            a source's own origin is always allowed (see `crawler.netpolicy`).
    """

    user_agent: str = DEFAULT_USER_AGENT
    download_timeout: float = 30.0
    max_page_bytes: int = 5 * 1024 * 1024
    obey_robots_txt: bool = True
    robots_ttl: float = 6 * 3600.0
    concurrent_requests: int = 32
    per_domain_concurrency: int = 4
    download_delay: float = 0.25
    autothrottle: bool = True
    autothrottle_target_concurrency: float = 2.0
    max_redirects: int = 10
    retry_times: int = 2
    max_retry_after: float = 60.0
    extraction_workers: int = 0
    seen_url_days: int = 30
    max_articles_per_source: int = 200
    store_batch_size: int = 50
    allow_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.allow_networks, str):
            raise ValueError(
                f"allow_networks must be a list of CIDRs or host names, got the string {self.allow_networks!r}"
            )
        object.__setattr__(self, "allow_networks", tuple(self.allow_networks))  # a JSON/YAML list too
        parse_allow_networks(self.allow_networks)  # raises ValueError naming a bad entry
        if self.download_timeout <= 0:
            raise ValueError(f"download_timeout must be positive, got {self.download_timeout!r}")
        if self.max_page_bytes < 1024:
            raise ValueError(f"max_page_bytes must be at least 1024, got {self.max_page_bytes!r}")
        for name in ("concurrent_requests", "per_domain_concurrency", "store_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if self.extraction_workers < 0:
            raise ValueError(
                f"extraction_workers must be 0 (one per core) or more, got {self.extraction_workers!r}"
            )

    @property
    def workers(self) -> int:
        """The number of extraction processes to start (resolves 0 to the CPU count)."""
        return self.extraction_workers or max(1, os.cpu_count() or 1)
