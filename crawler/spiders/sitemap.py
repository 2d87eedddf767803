"""`scrapy crawl sitemap -a url=URL [-a db=newswatch.db]`: one sitemap source, for debugging from the shell.

The real crawls use `crawler.spiders.news.NewsSpider` through `crawler.runner`; this subclass only
fixes the source kind. Settings read: those of `crawler.settings`.
"""

from __future__ import annotations

from crawler.spiders.news import NewsSpider


class SitemapSpider(NewsSpider):
    """One sitemap source given on the command line."""

    name = "sitemap"
    kind = "sitemap"
