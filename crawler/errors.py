"""Exceptions of the crawler, and the root of every newswatch exception.

    NewswatchError                 root: everything newswatch raises on purpose
    └── CrawlerError               crawler package
        ├── ExtractionError        a page could not be turned into an article
        ├── FeedError              a feed/sitemap/listing could not be parsed
        └── StoreError             the SQLite store is unusable (path, schema)

`alerts.errors` and `scheduler.errors` hang their own trees under `NewswatchError`.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Root of all errors newswatch raises deliberately."""


class CrawlerError(NewswatchError):
    """Something in the crawler failed in a way the caller should report."""


class ExtractionError(CrawlerError):
    """A page could not be turned into an article (not HTML, empty, too large)."""


class FeedError(CrawlerError):
    """A feed, sitemap or listing page could not be parsed."""


class StoreError(CrawlerError):
    """The store cannot be opened or written (bad path, locked, wrong schema)."""
