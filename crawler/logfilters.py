"""Keep Scrapy's per-request failure logs out of the user's way: one line per failed source is enough.

A source whose host is down made Scrapy log, for every crawl, an ERROR with a full traceback from its
robots.txt middleware ("Error downloading <GET .../robots.txt>", logger
`scrapy.downloadermiddlewares.robotstxt`) and an ERROR "Gave up retrying" from its retry middleware
(`scrapy.downloadermiddlewares.retry`), on top of newswatch's own WARNING "source NAME failed (REASON)"
(`crawler.health`). Offline, the shipped config wrote 1,640 lines in two minutes, 42 of them
tracebacks. `install_log_filters()` lowers those two loggers' records to DEBUG: they are shown, with
their tracebacks, only when the root logger is at DEBUG. Settings read: none (the root logger's level).
"""

from __future__ import annotations

import logging

# The Scrapy loggers whose ERRORs are per-request noise already summarised by the source's health line.
DEMOTED_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.retry")


class DemoteToDebug(logging.Filter):
    """Rewrites a record as DEBUG; drops it unless the root logger shows DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


_FILTER = DemoteToDebug()


def install_log_filters() -> None:
    """Lower Scrapy's per-request download errors to DEBUG (idempotent; call before crawling)."""
    for name in DEMOTED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
