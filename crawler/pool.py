"""Run article extraction in a process pool, so CPU-bound parsing never stalls the downloader.

One pool per process (a `pebble.ProcessPool`), sized to `CrawlOptions.workers` (the CPU count by
default), started on first use with the `forkserver` method (forking a process that runs a reactor and
threads is unsafe) and kept for the life of the process, so the daemon pays the start-up once.

Each page gets `extraction_timeout()` seconds of a worker's time, counted from when a worker starts it
(not while it waits in the queue). A page that runs longer (trafilatura/htmldate on pathological markup)
has its worker killed and replaced by a fresh one, and the article falls back to the feed's text: a
running `concurrent.futures` task cannot be cancelled, so with a plain ProcessPoolExecutor a few such
pages left every worker busy for good and every later article waited out the timeout. A worker that
dies (killed, out of memory) is replaced the same way. Workers exit by themselves when the process that
owns the pool is gone (`_exit_with_owner`). `parse_in_pool()` runs index parsing (`parse_feed`,
`parse_sitemap`, `extract_links`) the same way, for callers on the event loop.
Settings read: `extraction_workers` (through the caller's `CrawlOptions.workers`); environment:
`NEWSWATCH_EXTRACTION_TIMEOUT` (seconds, default 60).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from pebble import ProcessExpired, ProcessPool

from crawler.errors import FeedError
from crawler.extract import ExtractedArticle, extract_article

T = TypeVar("T")

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ProcessPool | None = None
_pool_size = 0
# One page never holds a worker longer than this (trafilatura on pathological markup).
EXTRACTION_TIMEOUT = 60.0


def extraction_timeout() -> float:
    """Seconds one page may hold a worker: `NEWSWATCH_EXTRACTION_TIMEOUT`, else `EXTRACTION_TIMEOUT`."""
    raw = os.environ.get("NEWSWATCH_EXTRACTION_TIMEOUT", "").strip()
    if not raw:
        return EXTRACTION_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        logger.warning("NEWSWATCH_EXTRACTION_TIMEOUT=%r is not a positive number of seconds; using %.0f",
                       raw, EXTRACTION_TIMEOUT)
        return EXTRACTION_TIMEOUT
    return value


def _exit_with_owner(owner_pid: int) -> None:
    """Worker initializer: exit when the process that owns the pool is gone.

    A SIGKILLed daemon cannot shut its pool down, and forkserver workers are not its children, so
    without this they would live on (found by bench/kill_test.py: two orphans and their helpers per
    crash). A daemon thread polls the owner every `_OWNER_POLL` seconds.
    """

    def watch() -> None:
        while True:
            time.sleep(_OWNER_POLL)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid was reused by another user's process: the owner is gone
                os._exit(0)

    threading.Thread(target=watch, name="newswatch-owner-watch", daemon=True).start()


_OWNER_POLL = 2.0


def get_pool(workers: int) -> ProcessPool:
    """The process-wide extraction pool, started with `workers` processes on first use."""
    global _pool, _pool_size
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["crawler.extract", "crawler.feeds", "crawler.sitemaps",
                                            "crawler.listing"])
            _pool = ProcessPool(max_workers=workers, context=context, initializer=_exit_with_owner,
                                initargs=(os.getpid(),))
            _pool_size = workers
            logger.info("started extraction pool with %d processes", workers)
        return _pool


def shutdown_pool() -> None:
    """Stop the extraction pool, killing pages still being extracted (the next use starts a new one)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves stop() unannotated
        pool.join(timeout=30)


async def extract_in_pool(
    workers: int,
    body: bytes,
    url: str,
    *,
    fallback_title: str = "",
    fallback_summary: str = "",
    fallback_date: str | None = None,
) -> ExtractedArticle:
    """`extract_article()` in a worker process; the feed's text when the worker fails or hangs.

    Args:
        workers: pool size if the pool has to be started.
        body, url, fallback_*: as for `crawler.extract.extract_article`.

    Returns:
        The extracted article; never raises for a bad page. When the page ran past the timeout (its
        worker is killed and replaced) or the worker died, the feed's text with `extracted=False` and
        `reason` "timeout" or "worker_failed".
    """
    pool = get_pool(workers)
    timeout = extraction_timeout()

    def fallback(reason: str) -> ExtractedArticle:
        return ExtractedArticle(title=fallback_title, text=fallback_summary, date=fallback_date,
                                extracted=False, reason=reason)

    try:
        future = pool.schedule(
            extract_article, args=(body, url),
            kwargs={"fallback_title": fallback_title, "fallback_summary": fallback_summary,
                    "fallback_date": fallback_date},
            timeout=timeout,
        )
        return await asyncio.wrap_future(future)
    except ProcessExpired as exc:
        logger.error("extraction worker died on %s (exit code %s); it is replaced", url, exc.exitcode)
        return fallback("worker_failed")
    except TimeoutError:
        logger.error("extraction of %s took over %.0f s; its worker was killed and replaced, using the "
                     "feed's text", url, timeout)
        return fallback("timeout")
    except RuntimeError:  # pebble: the pool is no longer active (its workers cannot start)
        logger.error("extraction pool is not running; restarting it (%s falls back to the feed's text)", url,
                     exc_info=True)
        _discard(pool)
        return fallback("worker_failed")


def _discard(pool: ProcessPool) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.stop()  # type: ignore[no-untyped-call]


async def parse_in_pool(workers: int, parse: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run an index parser (`parse_feed`, `parse_sitemap`, `extract_links`) in a worker process.

    The event loop only waits; a document that keeps the parser busy past `extraction_timeout()` has
    its worker killed and replaced, like a page.

    Args:
        workers: pool size if the pool has to be started.
        parse: a module-level (picklable) function; `args` and `kwargs` are passed to it.

    Returns:
        What `parse` returns.

    Raises:
        FeedError: raised by `parse`, or the parse timed out, or its worker died.
    """
    timeout = extraction_timeout()
    url = next((a for a in args if isinstance(a, str)), "")
    try:
        future = get_pool(workers).schedule(parse, args=args, kwargs=kwargs, timeout=timeout)
        return await asyncio.wrap_future(future)
    except TimeoutError:
        raise FeedError(f"parsing {url} took over {timeout:.0f} s; its worker was killed") from None
    except ProcessExpired as exc:
        raise FeedError(f"the worker parsing {url} died (exit code {exc.exitcode})") from None
