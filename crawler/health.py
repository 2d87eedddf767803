"""Classify crawl failures into reason classes, and collect what one crawl did per source.

Reason classes (stored in `sources.error_class`, shown by `newswatch status`):
`blocked` (401/403/429/451, robots.txt, bot walls), `gone` (404/410), `broken` (unparseable feed,
sitemap or listing; other 4xx), `timeout`, `dns`, `network` (refused, reset, TLS), `too_large`
(over the page-size limit, gzip bombs), `redirect_loop`, `server` (5xx), `internal` (a bug here).
Settings read: none.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from crawler.errors import FeedError

logger = logging.getLogger(__name__)

_BOT_WALL_MARKERS = (
    b"cf-challenge", b"challenge-platform", b"just a moment...", b"captcha", b"are you a robot",
    b"access denied", b"attention required", b"px-captcha", b"distil_r_captcha", b"_incapsula_resource",
)


def classify_status(status: int) -> str:
    """The reason class of an HTTP error status."""
    if status in (401, 403, 407, 429, 451):
        return "blocked"
    if status in (404, 410):
        return "gone"
    if status >= 500:
        return "server"
    return "broken"


def looks_like_bot_wall(body: bytes) -> bool:
    """Whether a page is a bot wall / challenge page rather than content."""
    head = body[:20000].lower()
    return any(marker in head for marker in _BOT_WALL_MARKERS)


def classify_exception(exc: BaseException) -> str:
    """The reason class of an exception raised while fetching or parsing."""
    name = type(exc).__name__
    text = str(exc).lower()
    if isinstance(exc, FeedError):
        return "too_large" if "inflates past" in text else "broken"
    if "timeout" in name.lower() or "timed out" in text or "took longer than" in text:
        return "timeout"
    if "DNSLookupError" in name or "dns" in name.lower() or "no address" in text:
        return "dns"
    if "robots.txt" in text:
        return "blocked"
    if "max size" in text or "maxsize" in text or "larger than" in text or "warnsize" in text:
        return "too_large"
    if "redirect" in text or "redirection" in text:
        return "redirect_loop"
    if name in ("IgnoreRequest",):
        return "blocked"
    if name in (
        "ConnectionRefusedError", "ConnectError", "ConnectionLost", "ResponseNeverReceived",
        "TCPTimedOutError", "ConnectionDone", "SSLError", "TunnelError", "ResponseFailed",
        "PotentialDataLoss", "_DataLoss", "ConnectionAborted",
    ):
        return "network"
    return "internal"


@dataclass(frozen=True, slots=True)
class CrawlReport:
    """What one crawl of one source did.

    Attributes:
        source: the source name.
        new_articles: articles stored for the first time.
        fetched: article pages fetched (any outcome).
        failed: article pages that could not be fetched (the index failing counts in `status`).
        status: `ok`, `unchanged` (304 or the same body hash: no article fetched) or `failed`.
        error_class: the reason class when `status` is `failed` (see module docstring), else None.
        error: a human-readable message naming the URL, else None.
        duration: seconds from the first request to the last response of this source.
        note: why the crawl stored less than the index listed (entries too old, links skipped or
            refused, a sitemap index without `<loc>`), else None.
    """

    source: str
    new_articles: int
    fetched: int
    failed: int
    status: str
    error_class: str | None
    error: str | None
    duration: float
    note: str | None = None


@dataclass(slots=True)
class SourceRun:
    """Mutable tally of one source during a crawl (the spider and pipelines update it)."""

    name: str
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0
    http_status: int | None = None
    status: str = "ok"
    error_class: str | None = None
    error: str | None = None
    fetched: int = 0
    failed: int = 0
    new_articles: int = 0
    transient_failures: int = 0
    pending: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    validators_ready: bool = False
    settled_urls: list[str] = field(default_factory=list)  # permanently failed: never fetch again
    skipped_schemes: int = 0  # entry links that are not http(s): never requested
    malformed: int = 0  # entry links that are not valid URLs: never requested
    refused: int = 0  # URLs refused by the network policy (crawler.netpolicy)
    notes: list[str] = field(default_factory=list)  # why fewer articles than entries, in words

    def note(self) -> str | None:
        """The run's notes and skip counts in one line, or None when there is nothing to say."""
        parts = list(dict.fromkeys(self.notes))
        if self.skipped_schemes:
            parts.append(f"{self.skipped_schemes} entries skipped: not http(s)")
        if self.malformed:
            parts.append(f"{self.malformed} entries skipped: malformed URL")
        if self.refused:
            parts.append(f"{self.refused} URLs refused: non-public address (see crawl.allow_networks)")
        return "; ".join(parts) or None

    def touch(self) -> None:
        self.finished = time.monotonic()

    def fail(self, error_class: str, error: str) -> None:
        """Mark the source's index as failed (the whole crawl of this source failed)."""
        self.status = "failed"
        self.error_class = error_class
        self.error = error
        self.touch()
        logger.warning("source %s failed (%s): %s", self.name, error_class, error)

    def report(self) -> CrawlReport:
        end = self.finished or time.monotonic()
        return CrawlReport(
            source=self.name,
            new_articles=self.new_articles,
            fetched=self.fetched,
            failed=self.failed,
            status=self.status,
            error_class=self.error_class,
            error=self.error,
            duration=round(max(0.0, end - self.started), 3),
            note=self.note(),
        )
