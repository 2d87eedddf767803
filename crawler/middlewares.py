"""Downloader middlewares: robots.txt cached across crawls, and retries that honour Retry-After.

`SharedRobotsTxtMiddleware` keeps each host's parsed robots.txt for `NEWSWATCH_ROBOTS_TTL` seconds
across all crawls of the process, so 500 feeds polled every few minutes cost 500 requests per cycle,
not 1,000. `PoliteRetryMiddleware` retries 429 and 503 after the server's `Retry-After` (seconds or an
HTTP date) or, without one, after an exponential backoff with jitter; a wait longer than
`NEWSWATCH_MAX_RETRY_AFTER` gives up at once (the source is then recorded as `blocked`/`server`).
Settings read: ROBOTSTXT_OBEY, RETRY_*, NEWSWATCH_ROBOTS_TTL, NEWSWATCH_MAX_RETRY_AFTER.
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
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)

# netloc -> (expires at, parser or None when robots.txt could not be fetched)
_ROBOTS_CACHE: dict[str, tuple[float, Any]] = {}


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
