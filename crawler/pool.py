"""Run article extraction in a process pool, so CPU-bound parsing never stalls the downloader.

One pool per process, sized to `CrawlOptions.workers` (the CPU count by default), started on first use
with the `forkserver` method (forking a process that runs a reactor and threads is unsafe) and kept for
the life of the process, so the daemon pays the start-up once. A worker that dies (killed, out of
memory) breaks the pool; it is replaced and the article falls back to the feed's text.
Settings read: `extraction_workers` (through the caller's `CrawlOptions.workers`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from crawler.extract import ExtractedArticle, extract_article

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0
# One page never holds a worker longer than this (trafilatura on pathological markup).
EXTRACTION_TIMEOUT = 60.0


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


def get_pool(workers: int) -> ProcessPoolExecutor:
    """The process-wide extraction pool, started with `workers` processes on first use."""
    global _pool, _pool_size
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["crawler.extract"])
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_exit_with_owner,
                                        initargs=(os.getpid(),))
            _pool_size = workers
            logger.info("started extraction pool with %d processes", workers)
        return _pool


def shutdown_pool() -> None:
    """Stop the extraction pool (the next use starts a new one)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _discard_broken(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


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
        The extracted article; never raises for a bad page.
    """
    pool = get_pool(workers)
    fallback = ExtractedArticle(
        title=fallback_title, text=fallback_summary, date=fallback_date, extracted=False,
        reason="worker_failed",
    )
    try:
        future = pool.submit(
            extract_article, body, url,
            fallback_title=fallback_title, fallback_summary=fallback_summary, fallback_date=fallback_date,
        )
        return await asyncio.wait_for(asyncio.wrap_future(future), EXTRACTION_TIMEOUT)
    except BrokenProcessPool:
        logger.error("extraction worker died on %s; restarting the pool", url)
        _discard_broken(pool)
        return fallback
    except TimeoutError:
        logger.error("extraction of %s took over %.0f s; using the feed's text", url, EXTRACTION_TIMEOUT)
        return fallback
