"""A Scrapy extension for tests: write a crawl's `newswatch/...` stats to a JSON file when the spider closes.

The crawl runs in a child process (`tests.crawler.sites.run_crawl`), so the test reads the crawler's stats
from this file. Enable it with the Scrapy settings
`EXTENSIONS={"tests.crawler.statsfile.StatsToFile": 0}` and `NEWSWATCH_TEST_STATS_FILE=<path>`.
"""

from __future__ import annotations

import json
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.crawlstats import STATS_PREFIX


class StatsToFile:
    """Dumps the crawler's `newswatch/` stats as a JSON object at spider_closed."""

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsToFile:
        extension = cls(crawler, Path(crawler.settings["NEWSWATCH_TEST_STATS_FILE"]))
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self) -> None:
        ours = {k: v for k, v in self.crawler.stats.get_stats().items() if k.startswith(f"{STATS_PREFIX}/")}
        self.path.write_text(json.dumps(ours, sort_keys=True), encoding="utf-8")
