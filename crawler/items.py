"""Domain values the crawler produces: sources to crawl, the items of a crawl, the articles it stores.

These are plain frozen dataclasses so that `alerts` and `scheduler` can use them without knowing
anything about Scrapy. Two of them are Scrapy items (Scrapy takes dataclass instances as items through
`itemadapter`), and they are what travels between the spider and the item pipelines, in this order:

    NewsSpider.parse_article ──PageItem──► ExtractPipeline ──ArticleRecord──► StorePipeline

`PageItem` is a fetched page as the spider saw it; `ArticleRecord` is that page extracted and keyed by
its canonical URL, ready for `crawler.store.store_articles()`. Typed items instead of dicts make a
misspelt key a type error, not a `KeyError` in the middle of a crawl. `Article` is a stored row read back.
Settings read: none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, quote_plus

from crawler.polling import PollingBounds

if TYPE_CHECKING:  # crawler.feeds pulls in feedparser and lxml; `alerts` imports this module for Article
    from crawler.feeds import FeedEntry

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


@dataclass(frozen=True, slots=True)
class PageItem:
    """A fetched article page, as `NewsSpider` yields it to the item pipelines.

    Attributes:
        source: the name of the source whose index listed the page.
        tags: the source's tags, copied onto the article.
        entry: what the index (feed, sitemap, listing) said about the page: its link, title, summary,
            date and authors, kept as the fallback when extraction fails.
        final_url: the URL the page was fetched from, after redirects.
        redirect_urls: the URLs of the redirect hops before `final_url`, in order.
        body: the raw response body (bytes: the extractor finds the encoding).
    """

    source: str
    tags: tuple[str, ...]
    entry: FeedEntry
    final_url: str
    redirect_urls: tuple[str, ...] = ()
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """An extracted article, as `ExtractPipeline` passes it to `StorePipeline`.

    The field names are the columns of the store's `articles` table (`crawler.store.store_articles()`
    takes `ItemAdapter(record).asdict()`), plus `seen_as`.

    Attributes:
        url: the canonical URL, the article's key in the store.
        source: the source name.
        title: the extracted title, else the index's title, else `url`.
        text: the extracted body text ("" when extraction failed).
        summary: the index's summary.
        published: ISO 8601 date with time zone (the page's, else the index's), or None.
        authors: author names (the page's, else the index's).
        language: the detected language code, or None.
        image: the page's lead image URL, or None.
        extracted: False when the text came from the index only (paywall, script-only page, non-HTML).
        tags: the source's tags.
        fingerprint: a hash of the text's words (`crawler.pipelines.text_fingerprint`), or None
            without text.
        seen_as: the other canonical URLs that lead to this article (index link, redirect hops),
            remembered as seen so they are never fetched again.
    """

    url: str
    source: str
    title: str
    text: str
    summary: str = ""
    published: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    image: str | None = None
    extracted: bool = True
    tags: tuple[str, ...] = ()
    fingerprint: str | None = None
    seen_as: tuple[str, ...] = ()
