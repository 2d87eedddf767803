"""Domain values the crawler produces: sources to crawl and the articles it stores.

These are plain frozen dataclasses so that `alerts` and `scheduler` can use them without
knowing anything about Scrapy. Settings read: none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, quote_plus

from crawler.polling import PollingBounds

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
        display_url: `url` with its secrets (`${VAR}` values, a password in it) replaced by `***`:
            the only form of the URL that may be logged, shown or stored. Defaults to `url`.
        headers: extra request headers for the index request (e.g. `Authorization`), sent only to
            the source's own origin; never shown.
        secrets: the values to mask in anything shown about this source (`redact()`).
        render: `plain`, or `browser` to load a listing page in headless Chromium (`crawler.render`).
        min_every_seconds, max_every_seconds: bounds of the adaptive interval (`crawler.polling`);
            0 means `every_seconds`, so by default the interval is fixed.
    """

    name: str
    kind: SourceKind
    url: str = field(repr=False)
    every_seconds: int = 600
    tags: tuple[str, ...] = ()
    link_pattern: str | None = None
    link_selector: str | None = None
    max_age_days: int = 3
    display_url: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    render: str = "plain"
    min_every_seconds: int = 0  # 0: `every_seconds` (the interval does not adapt)
    max_every_seconds: int = 0

    def __post_init__(self) -> None:
        if not self.display_url:
            object.__setattr__(self, "display_url", self.url)
        object.__setattr__(self, "headers", tuple((str(k), str(v)) for k, v in self.headers))  # from JSON too
        object.__setattr__(self, "secrets", tuple(self.secrets))

    @property
    def polling_bounds(self) -> PollingBounds:
        """The interval and its floor and ceiling, for `crawler.polling`."""
        every = self.every_seconds
        floor = min(self.min_every_seconds or every, every)
        return PollingBounds(every, floor, max(self.max_every_seconds or every, every))

    def redact(self, text: str) -> str:
        """`text` with this source's secrets (and their URL-encoded forms) replaced by `***`."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in dict.fromkeys((secret, quote(secret, safe=""), quote(secret), quote_plus(secret))):
                text = text.replace(form, "***")
        return text


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
