"""`scrapy crawl feed -a url=URL [-a db=newswatch.db]`: one feed source, for debugging from the shell.

The real crawls use `crawler.spiders.news.NewsSpider` through `crawler.runner`; this subclass only
fixes the source kind. Settings read: those of `crawler.settings`.
"""

from __future__ import annotations

from crawler.spiders.news import NewsSpider


class FeedSpider(NewsSpider):
    """One feed source given on the command line."""

    name = "feed"
    kind = "feed"
