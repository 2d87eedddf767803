"""Domain values the crawler produces: sources to crawl and the articles it stores.

These are plain frozen dataclasses so that `alerts` and `scheduler` can use them without
knowing anything about Scrapy. Settings read: none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SourceKind = Literal["feed", "sitemap", "listing"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One news source as the crawler needs it (validated upstream by `scheduler.config`).

    Attributes:
        name: unique, stable name; used as the key of the source's state in the store.
        kind: `feed` (RSS/Atom/JSON Feed), `sitemap` (news sitemap) or `listing` (section page).
        url: the feed, sitemap or section-page URL.
        every_seconds: crawl interval.
        tags: free labels (region, language) copied onto each article.
        link_pattern: for `listing`, a URL regex that article links match.
        link_selector: for `listing`, a CSS selector for article links.
        max_age_days: entries older than this (by feed/sitemap date) are not fetched.
    """

    name: str
    kind: SourceKind
    url: str
    every_seconds: int = 600
    tags: tuple[str, ...] = ()
    link_pattern: str | None = None
    link_selector: str | None = None
    max_age_days: int = 3


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article: extracted page text, or the feed's title and summary when extraction failed.

    `published` and `fetched_at` are ISO 8601 strings with a time zone; `extracted` is False when the
    text came from the feed only (paywall, script-only page, non-HTML response).
    """

    id: int
    url: str
    source: str
    title: str
    text: str
    summary: str = ""
    published: str | None = None
    fetched_at: str = ""
    authors: tuple[str, ...] = ()
    language: str | None = None
    image: str | None = None
    extracted: bool = True
    tags: tuple[str, ...] = field(default=())
