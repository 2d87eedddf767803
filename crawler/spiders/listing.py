"""`scrapy crawl listing -a url=URL [-a db=newswatch.db]`: one listing source, for debugging from the shell.

The real crawls use `crawler.spiders.news.NewsSpider` through `crawler.runner`; this subclass only
fixes the source kind. Settings read: those of `crawler.settings`.
"""

from __future__ import annotations

from crawler.spiders.news import NewsSpider


class ListingSpider(NewsSpider):
    """One listing source given on the command line."""

    name = "listing"
    kind = "listing"
