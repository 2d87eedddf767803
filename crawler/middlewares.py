"""Downloader middlewares: the network policy for URLs from content, a shared robots.txt cache, retries.

`NetPolicyMiddleware` applies `crawler.netpolicy` to every request the spider marks as coming from a
source (`request.meta[TRUSTED_META]` holds the source's configured URL): entry links, child sitemaps,
and redirects, which Scrapy's RedirectMiddleware re-schedules through the whole chain with the same
meta, so each hop is checked before it is sent. It runs before the robots.txt middleware, so a refused
host is not even asked for its robots.txt.

`SharedRobotsTxtMiddleware` keeps each host's parsed robots.txt for `NEWSWATCH_ROBOTS_TTL` seconds
across all crawls of the process, so 500 feeds polled every few minutes cost 500 requests per cycle,
not 1,000. `PoliteRetryMiddleware` retries 429 and 503 after the server's `Retry-After` (seconds or an
HTTP date) or, without one, after an exponential backoff with jitter; a wait longer than
`NEWSWATCH_MAX_RETRY_AFTER` gives up at once (the source is then recorded as `blocked`/`server`).
Settings read: NEWSWATCH_ALLOW_NETWORKS, ROBOTSTXT_OBEY, RETRY_*, NEWSWATCH_ROBOTS_TTL,
NEWSWATCH_MAX_RETRY_AFTER.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawler.netpolicy import (
    AllowList,
    IPAddress,
    host_literal,
    is_fetchable_scheme,
    parse_allow_networks,
    refusal,
    same_origin,
)

logger = logging.getLogger(__name__)

# request.meta key: the configured URL of the source a request was found for (its origin is trusted)
TRUSTED_META = "newswatch_trusted_url"

# netloc -> (expires at, parser or None when robots.txt could not be fetched)
_ROBOTS_CACHE: dict[str, tuple[float, Any]] = {}


class RefusedURL(IgnoreRequest):
    """A URL found in content that the network policy refuses (already logged; count it, do not fail)."""


class NetPolicyMiddleware:
    """Refuse requests from content to non-http(s) schemes and to non-public addresses.

    What is covered: the host of every marked request (and of every redirect hop) is resolved with
    the reactor's resolver before the request is sent, and the request is refused unless the
    address is public, the URL has the source's origin, or `crawl.allow_networks` lists the host or
    address. Scrapy's default resolver caches each name's answer for the process, and its
    connections use that same cached answer, so a DNS answer that changes between the check and the
    connection (DNS rebinding) is not used for the connection in the ordinary case. As a second line
    of defence, a response whose connection's peer address (`response.ip_address`) is not allowed
    is dropped before the spider sees it.

    What is not covered: when the cache entry is evicted between the check and the connection the
    name is resolved again, and the request may have reached that address before its response is
    dropped (the body is never used). Requests through an HTTP proxy (`http_proxy` environment) are
    resolved by the proxy, so only the URL's host and the proxy's address are visible here.
    """

    def __init__(self, allow: AllowList) -> None:
        self.allow = allow

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetPolicyMiddleware:
        return cls(parse_allow_networks(crawler.settings.getlist("NEWSWATCH_ALLOW_NETWORKS")))

    def _needs_address(self, request: Request, trusted: str) -> str | None:
        """The host name to resolve, or None when the URL can be judged without resolving it."""
        host = urlparse_cached(request).hostname or ""
        if (not is_fetchable_scheme(request.url) or same_origin(request.url, trusted) or not host
                or host_literal(host) is not None or self.allow.allows_host(host)):
            return None
        return host

    def _refuse(self, request: Request, reason: str) -> RefusedURL:
        host = urlparse_cached(request).hostname or "(no host)"
        source = request.meta.get("source", "?")
        hop = " (redirect)" if request.meta.get("redirect_urls") else ""
        logger.warning("source %s: refused %s%s, host %s: %s", source, request.url, hop, host, reason)
        return RefusedURL(f"refused {request.url}: {reason}")

    async def process_request(self, request: Request) -> None:
        trusted = request.meta.get(TRUSTED_META)
        if trusted is None:  # the index from config.yaml, robots.txt: the user's own URLs
            return
        address: IPAddress | None = None
        host = self._needs_address(request, trusted)
        if host is not None:
            from twisted.internet import reactor

            # The crawler's caching resolver (its answer is what the connection will use);
            # a lookup failure fails the request as a DNS error, as the download would.
            resolver: Any = reactor.resolver
            resolved = await maybe_deferred_to_future(resolver.getHostByName(host))
            address = host_literal(str(resolved))
        reason = refusal(request.url, address, trusted_url=trusted, allow=self.allow)
        if reason is not None:
            raise self._refuse(request, reason)

    def process_response(self, request: Request, response: Response) -> Response:
        trusted = request.meta.get(TRUSTED_META)
        peer = getattr(response, "ip_address", None)
        if trusted is None or peer is None:
            return response
        reason = refusal(request.url, peer, trusted_url=trusted, allow=self.allow)
        if reason is not None:
            raise self._refuse(request, f"the connection's peer: {reason}")
        return response


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with a process-wide, expiring cache of parsed files."""

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        cached = _ROBOTS_CACHE.get(netloc)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        parser = await super().robot_parser(request)
        ttl = self.crawler.settings.getfloat("NEWSWATCH_ROBOTS_TTL", 6 * 3600)
        # a missing/unreachable robots.txt (parser None) is retried sooner than a real one
        _ROBOTS_CACHE[netloc] = (time.monotonic() + (ttl if parser is not None else min(ttl, 600)), parser)
        return parser


def retry_after_seconds(value: str | bytes | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PoliteRetryMiddleware(RetryMiddleware):
    """Retry like Scrapy, but wait as the server asks on 429/503 (or back off exponentially)."""

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        if response.status in (429, 503):
            attempt = request.meta.get("retry_times", 0)
            delay = retry_after_seconds(response.headers.get(b"Retry-After"))
            if delay is None:
                delay = min(30.0, 2.0**attempt) * random.uniform(0.5, 1.0)
            limit = self.crawler.settings.getfloat("NEWSWATCH_MAX_RETRY_AFTER", 60.0)
            if delay > limit:
                logger.warning("not retrying %s: server asks to wait %.0f s (limit %.0f s)",
                               request.url, delay, limit)
                return response
            retry = self._retry(request, f"HTTP {response.status}")
            if retry is None:
                return response
            logger.info("retrying %s in %.1f s after HTTP %d", request.url, delay, response.status)
            await asyncio.sleep(delay)
            return retry
        return self._retry(request, f"HTTP {response.status}") or response


RENDER_META = "newswatch_render"  # set by the spider on the index request of a `render: browser` source
_RENDERER: Any = None  # one crawler.render.BrowserRenderer per process, shared by every crawl


class BrowserRenderMiddleware:
    """Answers a request marked ``RENDER_META`` with the page as a headless browser built it.

    Runs after the network policy and robots.txt (so both apply to the page itself); the browser's
    own sub-requests are held to the page's origin by ``crawler.render``. The renderer is kept for the
    process: the daemon's crawls share one browser, recycled by page count and memory.
    """

    async def process_request(self, request: Request) -> Response | None:
        if not request.meta.get(RENDER_META):
            return None
        global _RENDERER
        from scrapy.http import HtmlResponse

        from crawler.render import BrowserRenderer, RenderError

        if _RENDERER is None:
            _RENDERER = BrowserRenderer()
        try:
            url, body = await _RENDERER.render(request.url)
        except RenderError as exc:
            raise IgnoreRequest(f"render: browser failed: {exc}") from None
        return HtmlResponse(url, status=200, body=body, encoding="utf-8", request=request,
                            headers={"Content-Type": "text/html; charset=utf-8"})
