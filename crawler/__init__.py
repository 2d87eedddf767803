"""newswatch's crawler: sources → articles in the SQLite store.

Fetches feeds, news sitemaps and listing pages with Scrapy, fetches only article URLs not seen
before, extracts them with trafilatura in a process pool, canonicalises URLs and stores articles.
Knows nothing about watchlists or alerts. Settings read: only what callers pass (`SourceSpec`,
`CrawlOptions`, the database path).
"""

from crawler.canonical import canonicalize_url
from crawler.connections import ThreadConnections
from crawler.errors import (
    CrawlerError,
    ExtractionError,
    FeedError,
    NewswatchError,
    SchemaTooNewError,
    StoreError,
)
from crawler.extract import ExtractedArticle, extract_article, extract_file
from crawler.feeds import FeedEntry, parse_feed
from crawler.health import CrawlReport
from crawler.items import Article, SourceSpec
from crawler.migrations import Migration, Schema, apply_migrations
from crawler.options import CrawlOptions
from crawler.pool import shutdown_pool
from crawler.reactor import install_asyncio_reactor
from crawler.runner import crawl_blocking, crawl_source, crawl_sources, make_runner
from crawler.sitemaps import parse_sitemap
from crawler.store import (
    SourceHealth,
    compact,
    connect,
    get_article,
    insert_article,
    iter_articles_after,
    open_store,
    prune_article_text,
    prune_seen_urls,
    source_health,
)
from crawler.timeutil import iso, iso_ago, now_utc, parse_iso, utc_now
from crawler.writer import close_shared_stores

__all__ = [
    "Article",
    "CrawlOptions",
    "CrawlReport",
    "CrawlerError",
    "ExtractedArticle",
    "ExtractionError",
    "FeedEntry",
    "FeedError",
    "Migration",
    "NewswatchError",
    "Schema",
    "SchemaTooNewError",
    "SourceHealth",
    "SourceSpec",
    "StoreError",
    "ThreadConnections",
    "apply_migrations",
    "canonicalize_url",
    "close_shared_stores",
    "compact",
    "connect",
    "crawl_blocking",
    "crawl_source",
    "crawl_sources",
    "extract_article",
    "extract_file",
    "get_article",
    "insert_article",
    "install_asyncio_reactor",
    "iso",
    "iso_ago",
    "iter_articles_after",
    "make_runner",
    "now_utc",
    "open_store",
    "parse_feed",
    "parse_iso",
    "parse_sitemap",
    "prune_article_text",
    "prune_seen_urls",
    "shutdown_pool",
    "source_health",
    "utc_now",
]
