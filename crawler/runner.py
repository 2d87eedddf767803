"""Run crawls: one long-lived `AsyncCrawlerRunner` per process, one crawl per call.

The daemon installs the asyncio reactor (`crawler.reactor`), builds one runner with `make_runner()`,
and awaits `crawl_source()` from its APScheduler jobs on the reactor's loop. `crawl_blocking()` is
for `newswatch crawl --once`: it installs the reactor, crawls all sources in one spider, stops the
reactor and returns (once per process: a Twisted reactor cannot restart). `python -m crawler.runner`
wraps `crawl_blocking()` for tests and benchmarks that need a fresh process per crawl.

What a crawl did comes back through Scrapy's own channels only: the spider and the item pipelines
count per source in the crawler's stats (`newswatch/<source>/...`, `crawler.crawlstats`), and the
runner reads those stats when the spider closes and builds each source's report and health row from
them. Nothing is handed to the spider to be filled in.
Settings read: every field of `CrawlOptions` (through `crawler.settings`); sets NEWSWATCH_DB_PATH on
each crawler; extra Scrapy settings from the caller (`settings=`, `python -m crawler.runner -s`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crawler.crawlstats import source_run
from crawler.health import CrawlReport, SourceRun
from crawler.items import SourceSpec
from crawler.options import CrawlOptions
from crawler.reactor import install_asyncio_reactor

logger = logging.getLogger(__name__)

__all__ = ["CrawlReport", "crawl_blocking", "crawl_source", "crawl_sources", "make_runner"]


def make_runner(options: CrawlOptions, settings: Mapping[str, Any] | None = None) -> Any:
    """The crawler runner for this process (call after `install_asyncio_reactor()`).

    Args:
        options: crawl options; they apply to every crawl of this runner.
        settings: extra Scrapy settings over those of `options` (e.g. a `STATS_CLASS` or an
            extension to debug with); None for none.

    Returns:
        A `scrapy.crawler.AsyncCrawlerRunner`.
    """
    from scrapy.crawler import AsyncCrawlerRunner
    from scrapy.settings import Settings

    from crawler.logfilters import install_log_filters
    from crawler.settings import scrapy_settings

    install_log_filters()  # one WARNING per failed source, not Scrapy's traceback per request
    return AsyncCrawlerRunner(Settings({**scrapy_settings(options), **(settings or {})}))


def _release_memory() -> None:
    # Freed memory stays with the allocator after a crawl; giving it back kept RSS flat (DESIGN.md).
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _finish_source(db: Any, source: SourceSpec, run: SourceRun) -> None:
    from crawler.store import SourceState, mark_seen, record_source_result

    if run.settled_urls:
        mark_seen(db, run.settled_urls, source.name)
    ok = run.status != "failed"
    keep_validators = ok and run.validators_ready and run.transient_failures == 0
    record_source_result(
        db,
        name=source.name,
        kind=source.kind,
        url=source.display_url,
        ok=ok,
        http_status=run.http_status,
        new_articles=run.new_articles,
        error_class=run.error_class,
        error=source.redact(run.error) if run.error else run.error,
        state=SourceState(run.etag, run.last_modified, run.body_hash) if keep_validators else None,
        entries=run.entries,
    )
    note = run.note()
    logger.info(
        "crawled %s: %s, %d new, %d fetched, %d failed%s",
        source.name, run.status, run.new_articles, run.fetched, run.failed, f" ({note})" if note else "",
    )


async def crawl_sources(
    runner: Any, sources: Sequence[SourceSpec], db_path: Path, options: CrawlOptions
) -> list[CrawlReport]:
    """Crawl several sources once, in one spider (politeness is per host across all of them).

    Args:
        runner: from `make_runner()`.
        sources: the sources; names must be unique.
        db_path: the SQLite store.
        options: must be the options the runner was made with (they size the pool and batches).

    Returns:
        One report per source, in the order given. Never raises for bad sources.
    """
    from scrapy import signals

    from crawler.spiders.news import NewsSpider
    from crawler.writer import shared_store

    started = time.monotonic()
    crawler = runner.create_crawler(NewsSpider)
    crawler.settings.set("NEWSWATCH_DB_PATH", str(Path(db_path)), priority="cmdline")  # spider, StorePipeline
    final_stats: dict[str, Any] = {}

    def keep_stats() -> None:
        # spider_closed comes after the pipelines' close_spider (their last batch is counted).
        final_stats.update(crawler.stats.get_stats())

    crawler.signals.connect(keep_stats, signal=signals.spider_closed)
    crash: Exception | None = None
    try:
        await runner.crawl(crawler, sources=list(sources), options=options)
    except Exception as exc:
        logger.error("crawl of %s crashed", ", ".join(source.name for source in sources), exc_info=True)
        crash = exc
    if not final_stats:  # crashed before its spider closed: keep what was counted until then
        with contextlib.suppress(RuntimeError):  # Crawler.stats exists only once the crawl started
            final_stats.update(crawler.stats.get_stats())
    runs = {source.name: source_run(final_stats, source.name, started) for source in sources}
    if crash is not None:
        for source in sources:
            if runs[source.name].status != "failed":
                runs[source.name].fail("internal", source.redact(f"{type(crash).__name__}: {crash}"))
    store = shared_store(Path(db_path))  # the spider's too: one writer thread per process and file
    for source in sources:
        await store.call(_finish_source, source, runs[source.name])
    _release_memory()
    return [runs[source.name].report() for source in sources]


async def crawl_source(runner: Any, source: SourceSpec, db_path: Path, options: CrawlOptions) -> CrawlReport:
    """Crawl one source once: index (conditional GET), unseen articles, extraction, store, health.

    Awaitable from a coroutine on the reactor's event loop (APScheduler's AsyncIOScheduler jobs).

    Args:
        runner: from `make_runner()`.
        source: the source to crawl.
        db_path: the SQLite store.
        options: the options the runner was made with.

    Returns:
        The crawl's report. Never raises for a bad source: failures are in the report and the
        store's `sources` row.
    """
    (report,) = await crawl_sources(runner, [source], db_path, options)
    return report


def crawl_blocking(
    sources: Sequence[SourceSpec], db_path: Path, options: CrawlOptions, settings: Mapping[str, Any] | None = None
) -> list[CrawlReport]:
    """Crawl all sources once and return; installs, runs and stops the reactor (once per process).

    Args:
        sources: the sources, crawled concurrently in one spider.
        db_path: the SQLite store.
        options: crawl options.
        settings: extra Scrapy settings (see `make_runner()`); None for none.

    Returns:
        One report per source, in order.

    Raises:
        RuntimeError: called a second time in one process (the reactor cannot restart).
    """
    loop = install_asyncio_reactor()
    from twisted.internet import reactor as installed

    from crawler.pool import shutdown_pool
    from crawler.writer import close_shared_stores

    # Twisted types the module-level reactor as a bare interface; the asyncio reactor has far more.
    reactor: Any = installed

    if getattr(reactor, "_newswatch_used", False):
        raise RuntimeError("crawl_blocking() can run once per process: a Twisted reactor cannot restart")
    reactor._newswatch_used = True
    results: list[CrawlReport] = []
    failure: list[BaseException] = []

    async def _main() -> None:
        try:
            results.extend(await crawl_sources(make_runner(options, settings), sources, db_path, options))
        except BaseException as exc:  # surfaced after the reactor stops
            failure.append(exc)
        finally:
            reactor.callLater(0, reactor.stop)

    reactor.callWhenRunning(lambda: loop.create_task(_main()))
    reactor.run(installSignalHandlers=False)
    shutdown_pool()
    close_shared_stores()
    if failure:
        raise failure[0]
    return results


def _source_from_json(data: dict[str, Any]) -> SourceSpec:
    data = dict(data)
    data["tags"] = tuple(data.get("tags") or ())
    return SourceSpec(**data)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m crawler.runner --db PATH --sources-json JSON [--options-json JSON] [-s NAME=VALUE]...`.

    Prints the reports as a JSON list on stdout. Used by tests and benchmarks, which need a fresh
    process (and so a fresh reactor) for every crawl. `-s` sets a Scrapy setting, as `scrapy crawl -s`
    does (a JSON object for dict settings such as EXTENSIONS).
    """
    parser = argparse.ArgumentParser(prog="python -m crawler.runner", description=main.__doc__)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--sources-json", required=True, help="a JSON list of SourceSpec fields")
    parser.add_argument("--options-json", default="{}", help="a JSON object of CrawlOptions fields")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("-s", "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy setting for this crawl (repeatable)")
    args = parser.parse_args(argv)
    settings: dict[str, Any] = {}
    for pair in args.settings:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"-s expects NAME=VALUE, got {pair!r}")
        settings[name] = value
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sources = [_source_from_json(item) for item in json.loads(args.sources_json)]
    options = CrawlOptions(**json.loads(args.options_json))
    reports = crawl_blocking(sources, args.db, options, settings)
    json.dump([dataclasses.asdict(report) for report in reports], sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop(None)
    sys.exit(main())
