"""Classify crawl failures into reason classes, and collect what one crawl did per source.

Reason classes (stored in `sources.error_class`, shown by `newswatch status`):
`blocked` (401/403/429/451, robots.txt, bot walls), `gone` (404/410), `broken` (unparseable feed,
sitemap or listing; other 4xx), `timeout`, `dns`, `network` (refused, reset, TLS), `too_large`
(over the page-size limit, gzip bombs), `redirect_loop`, `server` (5xx), `internal` (a bug here).
`CrawlReport` is what one crawl of one source did; `SourceRun` is the same, read back from the
crawler's stats (`crawler.crawlstats`) with what the runner needs to record the source's health.
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


def _network_classes() -> list[tuple[tuple[type[BaseException], ...], str]]:
    """(exception classes, reason class) pairs, most specific first; built once, on first use."""
    import ssl

    from OpenSSL.SSL import Error as OpenSSLError
    from scrapy import exceptions as scrapy_errors
    from scrapy.core.downloader.handlers.http11 import TunnelError
    from twisted.internet import defer
    from twisted.internet import error as tx
    from twisted.web import _newclient as newclient

    return [
        ((scrapy_errors.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError, TimeoutError), "timeout"),
        ((scrapy_errors.CannotResolveHostError, tx.DNSLookupError, tx.UnknownHostError,
          tx.ServiceNameUnknownError), "dns"),
        ((scrapy_errors.DownloadConnectionRefusedError, scrapy_errors.DownloadFailedError,
          scrapy_errors.ResponseDataLossError, scrapy_errors.UnsupportedURLSchemeError, tx.ConnectError,
          tx.ConnectionLost, tx.ConnectionDone, tx.ConnectionAborted, tx.ConnectionClosed, tx.NoRouteError,
          tx.SSLError, tx.CertificateError, tx.VerifyError, newclient.ResponseNeverReceived,
          newclient.ResponseFailed, newclient.ParseError, OpenSSLError, ssl.SSLError, TunnelError,
          defer.CancelledError, ConnectionError), "network"),
    ]


_CLASSES: list[tuple[tuple[type[BaseException], ...], str]] = []


def _ignore_request_reason(text: str) -> str:
    # Scrapy raises the one IgnoreRequest class for several reasons; only its message tells them apart.
    if "max redirections" in text:
        return "redirect_loop"
    if "download_maxsize" in text or "max size" in text:
        return "too_large"
    return "blocked"  # robots.txt ("Forbidden by robots.txt"), offsite, and other refusals


def _is_our_bug(exc: BaseException) -> bool:
    """A Python error raised by newswatch's own code (its innermost frame is in crawler/alerts/scheduler)."""
    if not isinstance(exc, (LookupError, TypeError, ValueError, AttributeError, ArithmeticError, AssertionError,
                            NameError, RuntimeError, ImportError)):
        return False
    tb = exc.__traceback__
    if tb is None:
        return True  # no frames to blame a library with: treat a plain Python error as ours
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "").split(".")[0] in ("crawler", "alerts", "scheduler")


def classify_exception(exc: BaseException) -> str:
    """The reason class of an exception raised while fetching or parsing.

    Classifies by type, against Scrapy's download exceptions (2.13+), Twisted's connection and HTTP
    client errors and the TLS libraries', then by the exception's cause. `internal` (a bug in newswatch)
    is kept for Python errors raised by newswatch's own code; any other unknown exception is `network`
    (it happened while talking to a site).
    """
    from scrapy.exceptions import DownloadCancelledError, IgnoreRequest

    if not _CLASSES:
        _CLASSES.extend(_network_classes())
    if isinstance(exc, FeedError):
        return "too_large" if "inflates past" in str(exc) else "broken"
    if isinstance(exc, IgnoreRequest):
        return _ignore_request_reason(str(exc).lower())
    if isinstance(exc, DownloadCancelledError) and "max size" in str(exc).lower():
        return "too_large"  # Scrapy cancels a download that announces or reaches DOWNLOAD_MAXSIZE
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        # Scrapy wraps Twisted's errors: a timeout or DNS failure inside a generic wrapper says more.
        inner = classify_exception(cause)
        if inner in ("timeout", "dns", "too_large"):
            return inner
    for reasons in (getattr(exc, "reasons", None) or ()):  # ResponseFailed / ResponseNeverReceived
        inner_exc = getattr(reasons, "value", None)
        if isinstance(inner_exc, BaseException) and classify_exception(inner_exc) in ("timeout", "dns"):
            return classify_exception(inner_exc)
    for classes, reason in _CLASSES:
        if isinstance(exc, classes):
            return reason
    if _is_our_bug(exc):
        return "internal"
    return "network"


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
    hint_seconds: float | None = None  # the publisher's freshness hint or Retry-After, for crawler.polling


def log_source_failure(name: str, error_class: str, error: str) -> None:
    """The one WARNING line a failed source gets per crawl."""
    logger.warning("source %s failed (%s): %s", name, error_class, error)


@dataclass(slots=True)
class SourceRun:
    """One source's crawl as the runner sees it once the crawl ended (`crawler.crawlstats.source_run()`).

    The spider and pipelines never hold one: they write into the crawler's stats. The runner may still
    `fail()` it when the crawl itself crashed, then turns it into a health row and a `CrawlReport`.
    """

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
    requested: int = 0  # article requests queued
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    validators_ready: bool = False
    settled_urls: list[str] = field(default_factory=list)  # permanently failed: never fetch again
    skipped_schemes: int = 0  # entry links that are not http(s): never requested
    malformed: int = 0  # entry links that are not valid URLs: never requested
    refused: int = 0  # URLs refused by the network policy (crawler.netpolicy)
    notes: list[str] = field(default_factory=list)  # why fewer articles than entries, in words
    hint_seconds: float | None = None  # max-age, <ttl>, sy:updatePeriod or Retry-After of the index
    entries: int | None = None  # entries the index listed when read and parsed (None: 304, unchanged, failed)

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
        log_source_failure(self.name, error_class, error)

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
            hint_seconds=self.hint_seconds,
        )
