"""Failures are named for what they are: each real exception class of the installed Scrapy and Twisted
maps to its reason class, and real crawls of a refused port, an unresolvable host and a robots.txt
refusal are recorded as `network`, `dns` and `blocked`, never `internal`."""

from __future__ import annotations

import concurrent.futures
import socket
import ssl
from pathlib import Path

import pytest
import scrapy.exceptions as scrapy_errors
from OpenSSL.SSL import Error as OpenSSLError
from scrapy.core.downloader.handlers.http11 import TunnelError
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.errors import FeedError
from crawler.health import classify_exception
from crawler.items import SourceSpec
from tests.crawler.sites import rss, run_crawl
from tests.loopback import LoopbackHTTPServer

FAST = {"download_timeout": 5.0, "retry_times": 0}


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (scrapy_errors.CannotResolveHostError("nonexistent.invalid"), "dns"),
        (scrapy_errors.DownloadConnectionRefusedError("Connection was refused by other side"), "network"),
        (scrapy_errors.DownloadFailedError("[<twisted.python.failure.Failure ...>]"), "network"),
        (scrapy_errors.DownloadTimeoutError("Getting http://x took longer than 5 seconds."), "timeout"),
        (scrapy_errors.ResponseDataLossError(), "network"),
        (scrapy_errors.UnsupportedURLSchemeError("ftp"), "network"),
        (scrapy_errors.DownloadCancelledError(
            "Expected to receive 2000000 bytes which is larger than download max size (200000)"), "too_large"),
        (scrapy_errors.IgnoreRequest("Forbidden by robots.txt"), "blocked"),
        (scrapy_errors.IgnoreRequest("max redirections reached"), "redirect_loop"),
        (scrapy_errors.IgnoreRequest("Ignored response because its body exceeded DOWNLOAD_MAXSIZE"), "too_large"),
        (tx.DNSLookupError("nonexistent.invalid"), "dns"),
        (tx.ConnectionRefusedError(), "network"),
        (tx.TimeoutError(), "timeout"),
        (tx.TCPTimedOutError(), "timeout"),
        (tx.ConnectionLost(), "network"),
        (tx.ConnectionDone(), "network"),
        (tx.NoRouteError(), "network"),
        (ResponseNeverReceived([Failure(tx.ConnectionLost())]), "network"),
        (ResponseFailed([Failure(tx.ConnectionLost())]), "network"),
        (ResponseNeverReceived([Failure(tx.TimeoutError())]), "timeout"),
        (OpenSSLError([("SSL routines", "", "certificate verify failed")]), "network"),
        (ssl.SSLError(1, "certificate verify failed"), "network"),
        (TunnelError("Could not open CONNECT tunnel"), "network"),
        (ConnectionResetError(104, "Connection reset by peer"), "network"),
        (FeedError("not a feed"), "broken"),
        (OSError(113, "No route to host"), "network"),  # unknown but network-ish: not a bug of ours
        (KeyError("source"), "internal"),  # a Python error with no library to blame
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value,
)
def test_each_real_exception_class_has_its_reason(exc: BaseException, reason: str) -> None:
    assert classify_exception(exc) == reason


def test_a_wrapped_twisted_error_keeps_its_specific_reason() -> None:
    try:
        try:
            raise tx.DNSLookupError("nonexistent.invalid")
        except tx.DNSLookupError as inner:
            raise scrapy_errors.DownloadFailedError(str(inner)) from inner
    except scrapy_errors.DownloadFailedError as outer:
        assert classify_exception(outer) == "dns"


def test_a_python_error_inside_newswatch_code_is_internal_one_inside_a_library_is_not() -> None:
    from crawler.health import classify_status

    with pytest.raises(TypeError) as ours:
        classify_status("500")  # type: ignore[arg-type]
    assert classify_exception(ours.value) == "internal"
    with pytest.raises(OSError) as theirs:
        socket.inet_aton("not an address")
    assert classify_exception(theirs.value) == "network"


def _refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed on exit: nothing listens there now


def _resolver_fails_fast(host: str) -> bool:
    def resolve() -> None:
        socket.getaddrinfo(host, 80)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(resolve)
        try:
            future.result(timeout=10)
        except socket.gaierror:
            return True
        except concurrent.futures.TimeoutError:
            return False
    return False


def test_real_refused_port_unresolvable_host_and_robots_refusal(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    if not _resolver_fails_fast("nonexistent.invalid"):
        pytest.skip("this machine's resolver does not fail fast for .invalid names; the test would wait on it")
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/private/feed.xml", rss([]), "application/rss+xml")
    site.add("/feed.xml", rss([]), "application/rss+xml")
    sources = [
        SourceSpec("refused", "feed", f"http://127.0.0.1:{_refused_port()}/feed.xml"),
        SourceSpec("nowhere", "feed", "http://nonexistent.invalid/feed.xml"),
        SourceSpec("robots", "feed", site.url("/private/feed.xml")),
        SourceSpec("fine", "feed", site.url("/feed.xml")),
    ]
    reports = {r["source"]: r for r in run_crawl(tmp_path / "nw.db", sources, **FAST)}
    assert {name: (r["status"], r["error_class"]) for name, r in reports.items()} == {
        "refused": ("failed", "network"),
        "nowhere": ("failed", "dns"),
        "robots": ("failed", "blocked"),
        "fine": ("ok", None),
    }
    assert site.requests_to("/private/feed.xml") == []
