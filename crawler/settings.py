"""Scrapy settings for newswatch crawls, derived from `CrawlOptions`.

`scrapy_settings(options)` is what `crawler.runner` uses; the module-level names are the same values for
the default options, so `scrapy crawl feed -a url=...` works from the project root for debugging.
Notable choices (measured, see DESIGN.md): the asyncio reactor; cookies off (the cookies middleware
downloads the public suffix list on first use, which fails offline, and news feeds need no cookies);
CONCURRENT_ITEMS 8 (Scrapy's 100 costs 35-40% throughput); telnet console off; only the http(s)
download handlers exist (file, data, ftp and s3 are switched off, so no link can read a local file);
`crawler.middlewares.NetPolicyMiddleware` checks every URL found in content (`crawl.allow_networks`).
Settings read: every field of `CrawlOptions`.
"""

from __future__ import annotations

from typing import Any

from crawler.options import CrawlOptions

BOT_NAME = "newswatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"


def scrapy_settings(options: CrawlOptions) -> dict[str, Any]:
    """The Scrapy settings for crawls with these options.

    Args:
        options: the user's crawl options.

    Returns:
        A dict for `scrapy.settings.Settings` / `AsyncCrawlerRunner`.
    """
    return {
        "BOT_NAME": BOT_NAME,
        "SPIDER_MODULES": SPIDER_MODULES,
        "NEWSPIDER_MODULE": NEWSPIDER_MODULE,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": options.obey_robots_txt,
        "DOWNLOAD_TIMEOUT": options.download_timeout,
        "DOWNLOAD_MAXSIZE": options.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "LOGSTATS_INTERVAL": 0,
        "CONCURRENT_ITEMS": 8,
        "CONCURRENT_REQUESTS": options.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.per_domain_concurrency,
        "DOWNLOAD_DELAY": options.download_delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "AUTOTHROTTLE_ENABLED": options.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(options.download_delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": options.autothrottle_target_concurrency,
        "REDIRECT_MAX_TIMES": options.max_redirects,
        "RETRY_TIMES": options.retry_times,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "en,*;q=0.5",
        },
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None},
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.NetPolicyMiddleware": 50,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.middlewares.SharedRobotsTxtMiddleware": 100,
            "crawler.middlewares.BrowserRenderMiddleware": 150,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.middlewares.PoliteRetryMiddleware": 550,
        },
        "ITEM_PIPELINES": {
            "crawler.pipelines.ExtractPipeline": 300,
            "crawler.pipelines.StorePipeline": 800,
        },
        "NEWSWATCH_ALLOW_NETWORKS": list(options.allow_networks),
        "NEWSWATCH_ROBOTS_TTL": options.robots_ttl,
        "NEWSWATCH_MAX_RETRY_AFTER": options.max_retry_after,
        "NEWSWATCH_EXTRACTION_WORKERS": options.workers,
        "NEWSWATCH_STORE_BATCH": options.store_batch_size,
    }


# The same values at module level, for `scrapy crawl` from the project root.
globals().update(scrapy_settings(CrawlOptions()))
