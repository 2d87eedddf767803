"""Exceptions of the crawler, and the root of every newswatch exception.

    NewswatchError                 root: everything newswatch raises on purpose
    └── CrawlerError               crawler package
        ├── ExtractionError        a page could not be turned into an article
        ├── FeedError              a feed/sitemap/listing could not be parsed
        └── StoreError             the SQLite store is unusable (path, schema)
            └── SchemaTooNewError  the file was written by a newer newswatch (schema version)

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


class SchemaTooNewError(StoreError):
    """The database was written by a newer newswatch: its recorded schema version is above this code's.

    Opening it anyway could misread or damage tables this code does not know, so it is refused.
    """

    def __init__(self, path: str, package: str, found: int, known: int) -> None:
        self.path, self.package, self.found, self.known = path, package, found, known
        super().__init__(f"database {path} has {package} schema version {found}, but this newswatch knows only "
                         f"up to {known}: a newer newswatch wrote it; upgrade newswatch "
                         "(pip install -U newswatch) to open it, or point `database:` at another file")
