"""Item pipelines: extract each fetched page in the process pool, then store articles in batches.

The spider yields one `crawler.items.PageItem` per fetched article page (raw body, URLs, the index
entry's title, summary and date). `ExtractPipeline` turns it into a `crawler.items.ArticleRecord` off
the event loop (crawler.pool), picking the canonical URL: the page's own `rel=canonical` when it is on
the same site, else the final URL after redirects; the feed link and every redirect hop are kept as
`seen_as` variants. `StorePipeline` writes records, `NEWSWATCH_STORE_BATCH` per transaction, through the
process's shared `StoreThread` for the crawl's store (`crawler.writer`), and counts the new ones per source
in the crawler's stats (`newswatch/<source>/new_articles`, see `crawler.crawlstats`).
Each pipeline takes what it needs from the crawler in `from_crawler()` (settings, stats, the store
thread); neither reaches into the spider, so nothing but items and stats passes between them.
Settings read: NEWSWATCH_EXTRACTION_WORKERS, NEWSWATCH_STORE_BATCH, NEWSWATCH_DB_PATH.
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import urlsplit

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.canonical import canonicalize_url, same_site
from crawler.crawlstats import SourceStats
from crawler.items import ArticleRecord, PageItem
from crawler.pool import extract_in_pool
from crawler.settings import store_path
from crawler.store import store_articles
from crawler.writer import StoreThread, shared_store

logger = logging.getLogger(__name__)

_WORDS = re.compile(r"\w+")


def text_fingerprint(text: str) -> str:
    """A hash of the text's words, lower-cased: the same body under two URLs has one fingerprint."""
    return hashlib.sha1(" ".join(_WORDS.findall(text.lower())).encode("utf-8")).hexdigest()


def _article_key(final_url: str, page_canonical: str | None) -> str:
    if page_canonical and same_site(page_canonical, final_url):
        key = canonicalize_url(page_canonical)
        if urlsplit(key).path not in ("", "/"):  # some sites point every page's canonical at the home page
            return key
    return canonicalize_url(final_url)


class ExtractPipeline:
    """Extract title, text, date... from a fetched page, in the extraction process pool."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler.settings.getint("NEWSWATCH_EXTRACTION_WORKERS", 1))

    async def process_item(self, item: PageItem) -> ArticleRecord:
        entry = item.entry
        result = await extract_in_pool(
            self.workers,
            item.body,
            item.final_url,
            fallback_title=entry.title,
            fallback_summary=entry.summary,
            fallback_date=entry.published,
        )
        key = _article_key(item.final_url, result.canonical_url)
        variants = {canonicalize_url(u) for u in (entry.url, item.final_url, *item.redirect_urls)}
        variants.discard(key)
        if not result.extracted:
            logger.info("no article text on %s (%s); keeping the feed's title and summary",
                        item.final_url, result.reason)
        return ArticleRecord(
            url=key,
            source=item.source,
            title=result.title or entry.title or key,
            text=result.text,
            summary=entry.summary,
            published=result.date or entry.published,
            authors=tuple(result.authors or entry.authors),
            language=result.language,
            image=result.image,
            extracted=result.extracted,
            tags=tuple(item.tags),
            fingerprint=text_fingerprint(result.text) if result.text else None,
            seen_as=tuple(sorted(variants)),
        )


class StorePipeline:
    """Write article records to the store in batches, counting new ones per source in the crawler's stats."""

    def __init__(self, store: StoreThread, stats: StatsCollector, batch_size: int) -> None:
        self.store = store
        self.stats = stats
        self.batch_size = batch_size
        self.buffer: list[ArticleRecord] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        # The spider's store too: one writer thread per process and database file (crawler.writer).
        return cls(shared_store(store_path(crawler.settings)), crawler.stats,
                   crawler.settings.getint("NEWSWATCH_STORE_BATCH", 50))

    async def _flush(self) -> None:
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        ids = await self.store.call(store_articles, [ItemAdapter(record).asdict() for record in batch])
        for record, row_id in zip(batch, ids, strict=True):
            run = SourceStats(self.stats, record.source)
            run.touch()
            if row_id is not None:
                run.inc("new_articles")
                logger.debug("stored %s as article %d", record.url, row_id)

    async def process_item(self, item: ArticleRecord) -> ArticleRecord:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        await self._flush()
