"""The newswatch spider: index pages (feed, sitemap or listing) → unseen article pages → page items.

One crawl may carry many sources (`crawl_blocking()` runs them all in one spider, so one downloader
schedules them with per-host politeness). For each source the index is fetched with a conditional GET;
a 304 or an unchanged body hash ends that source's crawl with no article fetched. Otherwise the index is
parsed by kind (`crawler.feeds`, `crawler.sitemaps`, `crawler.listing`), entries older than the source's
`max_age_days` are dropped, URLs are canonicalised and checked against the store, and only unseen ones
are requested. Links that are not http(s) (`file:`, `javascript:`, `mailto:`, `tag:`...) are skipped
one by one, never requested; every request carries the source's configured URL in
`meta[TRUSTED_META]` so `NetPolicyMiddleware` can refuse non-public addresses (`crawler.netpolicy`).
Every outcome is counted in the crawler's stats under `newswatch/<source>/...` (`crawler.crawlstats`),
which the runner reads back after the crawl to make a report and a health row; the notes there say
why a run stored fewer articles than its index listed. Fetched pages go to the item pipelines as
`crawler.items.PageItem`.
Settings read: NEWSWATCH_DB_PATH (the store whose seen URLs and source state it reads; `-a db=PATH`
sets it when debugging with `scrapy crawl`); crawl options arrive as the `options` spider argument.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Self, cast
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.canonical import canonicalize_url
from crawler.crawlstats import SourceStats
from crawler.errors import FeedError
from crawler.feeds import FeedEntry, parse_feed
from crawler.health import classify_exception, classify_status, looks_like_bot_wall
from crawler.items import PageItem, SourceSpec
from crawler.listing import extract_links
from crawler.middlewares import RENDER_META, TRUSTED_META, RefusedURL, retry_after_seconds
from crawler.netpolicy import is_fetchable_scheme, url_scheme
from crawler.options import CrawlOptions
from crawler.polling import response_hint
from crawler.pool import parse_in_pool
from crawler.settings import store_path
from crawler.sitemaps import parse_sitemap
from crawler.store import SourceState, load_source_state, seen_urls
from crawler.writer import StoreThread, shared_store

logger = logging.getLogger(__name__)

_MAX_CHILD_SITEMAPS = 5
# Article failures that will not heal by retrying later: remember the URL as seen.
_PERMANENT = frozenset({"gone", "too_large", "redirect_loop", "broken"})
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_SOURCE_REDIRECTS = 5


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _private(source: SourceSpec) -> dict[str, str]:
    """Request meta that keeps a secret-bearing source URL out of the Referer of what it links to."""
    return {"referrer_policy": "no-referrer"} if source.secrets else {}


def _index_request(source: SourceSpec, url: str, state: SourceState, spider: NewsSpider, hops: int) -> Request:
    """The request for a source's feed, sitemap or page: conditional GET, and the source's own headers.

    The configured headers (credentials, often) go only to the source's own origin. Scrapy would carry
    them across a redirect to another host (it drops only Cookie and Authorization), so for a source
    with headers this spider follows redirects itself and leaves them off past its origin.
    """
    own = _origin(url) == _origin(source.url)
    headers = dict(source.headers) if own else {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    meta: dict[str, Any] = {"source": source.name, "state": state, "handle_httpstatus_list": [304],
                            "source_redirects": hops, TRUSTED_META: source.url, **_private(source)}
    if source.headers and own:
        meta.update(dont_redirect=True, handle_httpstatus_list=[304, *_REDIRECTS])
    if source.render == "browser" and source.kind == "listing":
        meta[RENDER_META] = True
    return Request(url, headers=headers, callback=spider.parse_index, errback=spider.index_failed,
                   dont_filter=True, priority=100, meta=meta)


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}


class NewsSpider(Spider):
    """Crawl the given sources once: their index pages, then their unseen article pages."""

    name = "news"
    kind = "feed"

    store: StoreThread

    def __init__(
        self,
        sources: Iterable[SourceSpec] | None = None,
        options: CrawlOptions | None = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("db", None)  # `-a db=PATH`: read by from_crawler() into NEWSWATCH_DB_PATH
        super().__init__(**kwargs)
        if sources is None:  # `scrapy crawl feed -a url=... [-a db=...]` for debugging
            if not url:
                raise ValueError(f"spider {self.name} needs -a url=<index URL>")
            sources = [SourceSpec(name=urlsplit(url).hostname or url, kind=self.kind, url=url)]  # type: ignore[arg-type]
        self.sources = {source.name: source for source in sources}
        self.options = options or CrawlOptions()
        self._queued: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """The spider for this crawl, reading the store named by NEWSWATCH_DB_PATH (or `-a db=PATH`)."""
        if kwargs.get("db"):  # the crawler's settings are frozen only after the spider exists
            crawler.settings.set("NEWSWATCH_DB_PATH", kwargs["db"], priority="spider")
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = shared_store(store_path(crawler.settings))
        return spider

    def _run(self, source: str) -> SourceStats:
        """Where this crawl counts what it did for `source`: the crawler's stats."""
        return SourceStats(self.crawler.stats, source)

    async def start(self) -> AsyncIterator[Request]:
        for source in self.sources.values():
            state = await self.store.call(load_source_state, source.name)
            self._run(source.name).touch()
            yield _index_request(source, source.url, state, self, hops=0)

    async def parse_index(self, response: Response) -> AsyncIterator[Request]:
        source = self.sources[response.meta["source"]]
        run = self._run(source.name)
        run.touch()
        run.set("http_status", response.status)
        state: SourceState = response.meta["state"]
        if response.status in _REDIRECTS:  # only for sources with headers (see _index_request)
            location = response.headers.get(b"Location")
            hops = response.meta.get("source_redirects", 0) + 1
            if not location or hops > _MAX_SOURCE_REDIRECTS:
                run.fail("broken", source.redact(f"{source.display_url} answered HTTP {response.status} "
                                                 f"({'too many redirects' if location else 'no Location'})"))
                return
            yield _index_request(source, response.urljoin(location.decode("latin-1")), state, self, hops)
            return
        hint = response_hint(_headers(response), response.body)
        if hint is not None:
            run.set("hint_seconds", hint)
        if response.status == 304:
            run.set("status", "unchanged")
            run.set("etag", state.etag)
            run.set("last_modified", state.last_modified)
            run.set("body_hash", state.body_hash)
            run.set("validators_ready", True)
            logger.info("source %s unchanged (304) at %s", source.name, response.url)
            return
        body_hash = hashlib.sha256(response.body).hexdigest()
        run.set("etag", (response.headers.get(b"ETag") or b"").decode("latin-1") or None)
        run.set("last_modified", (response.headers.get(b"Last-Modified") or b"").decode("latin-1") or None)
        run.set("body_hash", body_hash)
        if state.body_hash == body_hash:
            run.set("status", "unchanged")
            run.set("validators_ready", True)
            logger.info("source %s unchanged (same body hash) at %s", source.name, response.url)
            return
        try:
            entries, children, listed = await self._parse_entries(source, response)
        except FeedError as exc:
            reason = "blocked" if looks_like_bot_wall(response.body) else "broken"
            run.fail(reason, source.redact(str(exc)))
            return
        run.set("validators_ready", True)
        run.set("entries", listed)  # 0 makes the source `empty`, however many were already seen
        if not entries and not children and not run.notes:
            run.add_note(f"the {source.kind} lists no entries")
        for child in children:
            yield child
        async for request in self._article_requests(source, entries):
            yield request

    async def parse_child_sitemap(self, response: Response) -> AsyncIterator[Request]:
        source = self.sources[response.meta["source"]]
        run = self._run(source.name)
        run.touch()
        try:
            sitemap = await parse_in_pool(self.options.workers, parse_sitemap, response.body, response.url,
                                          _headers(response), max_bytes=self.options.max_page_bytes)
        except FeedError as exc:
            logger.warning("child sitemap %s of source %s unreadable: %s", response.url, source.name, exc)
            run.inc("transient_failures")
            return
        if sitemap.skipped_without_loc and not sitemap.entries:
            run.add_note(
                f"child sitemap {response.url} lists {sitemap.skipped_without_loc} URLs, none with a <loc>")
        async for request in self._article_requests(source, sitemap.entries):
            yield request

    def _skip_scheme(self, source: SourceSpec, urls: list[str]) -> None:
        """Count and log (once per index) links that are not http(s); they are never requested."""
        if not urls:
            return
        self._run(source.name).inc("skipped_schemes", len(urls))
        schemes = ", ".join(sorted({f"{url_scheme(url) or '(none)'}:" for url in urls}))
        logger.warning("source %s: skipped %d links that are not http(s) (%s), e.g. %.100s",
                       source.name, len(urls), schemes, urls[0])

    async def _parse_entries(
        self, source: SourceSpec, response: Response
    ) -> tuple[list[FeedEntry], list[Request], int]:
        """The index's entries, the child sitemaps to fetch, and how many entries the index listed.

        The count is what the document itself lists (a sitemap index's child sitemaps included, old or
        not), before age, scheme or seen-URL filtering: it tells an index that lists nothing (`empty`)
        from one whose entries are all known or old.
        """
        # Parsing runs in the extraction pool: a hostile index (or a user's link_pattern) costs a
        # worker process, bounded by its timeout, never the event loop that serves every other source.
        headers = _headers(response)
        workers, limit = self.options.workers, self.options.max_page_bytes
        if source.kind == "feed":
            entries = await parse_in_pool(workers, parse_feed, response.body, response.url, headers, max_bytes=limit)
            return entries, [], len(entries)
        if source.kind == "listing":
            entries = await parse_in_pool(workers, extract_links, response.body, response.url, headers,
                                          link_selector=source.link_selector, link_pattern=source.link_pattern)
            return entries, [], len(entries)
        sitemap = await parse_in_pool(workers, parse_sitemap, response.body, response.url, headers, max_bytes=limit)
        run = self._run(source.name)
        # The parser counts elements whose <loc> is missing or not an http(s) URL (crawler.sitemaps).
        skipped = sitemap.skipped_without_loc
        if skipped and sitemap.index:
            listed = len(sitemap.sitemaps) + skipped
            run.add_note(f"sitemap index lists {listed} child sitemaps, none with a <loc>"
                             if not sitemap.sitemaps else f"{skipped} of {listed} child sitemaps have no <loc>")
        elif skipped and not sitemap.entries:
            run.add_note(f"sitemap lists {skipped} URLs, none with a <loc>")
        self._skip_scheme(source, [ref.url for ref in sitemap.sitemaps if not is_fetchable_scheme(ref.url)])
        cutoff = (datetime.now(UTC) - timedelta(days=source.max_age_days)).isoformat()
        refs = [ref for ref in sitemap.sitemaps if is_fetchable_scheme(ref.url)
                and (ref.lastmod is None or ref.lastmod >= cutoff)]
        if sitemap.sitemaps and not refs:
            old = sum(1 for ref in sitemap.sitemaps if ref.lastmod is not None and ref.lastmod < cutoff)
            if old:
                run.add_note(f"sitemap index lists {old} child sitemaps, all older than "
                                 f"max_age_days={source.max_age_days}")
        refs.sort(key=lambda ref: ref.lastmod or "", reverse=True)
        children = [
            Request(ref.url, callback=self.parse_child_sitemap, errback=self.article_failed, priority=50,
                    meta={"source": source.name, "child_sitemap": True, TRUSTED_META: source.url,
                          **_private(source)})
            for ref in refs[:_MAX_CHILD_SITEMAPS]
        ]
        return sitemap.entries, children, len(sitemap.entries) + len(sitemap.sitemaps)

    async def _article_requests(self, source: SourceSpec, entries: list[FeedEntry]) -> AsyncIterator[Request]:
        run = self._run(source.name)
        cutoff = (datetime.now(UTC) - timedelta(days=source.max_age_days)).isoformat()
        fresh: dict[str, FeedEntry] = {}
        too_old = 0
        bad_scheme: list[str] = []
        for entry in entries:
            if not is_fetchable_scheme(entry.url):
                bad_scheme.append(entry.url)
                continue
            if entry.published and entry.published < cutoff:
                too_old += 1
                continue
            try:
                key = canonicalize_url(entry.url)
            except ValueError as exc:  # e.g. a bad port: skip this entry, keep the others
                logger.warning("source %s: skipped malformed link %.200s: %s", source.name, entry.url, exc)
                run.inc("malformed")
                continue
            if key not in fresh and key not in self._queued:
                fresh[key] = entry
        self._skip_scheme(source, bad_scheme)
        if too_old and not fresh:
            fetchable = len(entries) - len(bad_scheme)
            run.add_note(f"{too_old} entries, all older than max_age_days={source.max_age_days}"
                             if too_old == fetchable else
                             f"{too_old} of {fetchable} entries older than max_age_days={source.max_age_days}")
        seen = await self.store.call(seen_urls, list(fresh), self.options.seen_url_days)
        wanted = [(key, entry) for key, entry in fresh.items() if key not in seen]
        wanted.sort(key=lambda pair: pair[1].published or "", reverse=True)
        wanted = wanted[: self.options.max_articles_per_source]
        logger.info("source %s: %d entries, %d new", source.name, len(entries), len(wanted))
        for key, entry in wanted:
            try:
                request = Request(
                    entry.url,
                    callback=self.parse_article,
                    errback=self.article_failed,
                    meta={"source": source.name, "entry": entry, "key": key, TRUSTED_META: source.url,
                          **_private(source)},
                )
            except ValueError as exc:  # Scrapy rejects the URL: skip this entry, keep the others
                logger.warning("source %s: skipped malformed link %.200s: %s", source.name, entry.url, exc)
                run.inc("malformed")
                continue
            self._queued.add(key)
            run.inc("requested")
            yield request

    def parse_article(self, response: Response) -> Iterable[PageItem]:
        source = self.sources[response.meta["source"]]
        run = self._run(source.name)
        run.inc("fetched")
        run.touch()
        yield PageItem(
            source=source.name,
            tags=source.tags,
            entry=response.meta["entry"],
            final_url=response.url,
            redirect_urls=tuple(response.meta.get("redirect_urls", ())),
            body=response.body,
        )

    def index_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        run = self._run(request.meta["source"])
        source = self.sources[request.meta["source"]]
        exc = cast(BaseException, failure.value)  # an errback's Failure always carries its exception
        if isinstance(exc, RefusedURL):  # the index redirected to a refused URL (already logged)
            run.inc("refused")
            run.fail("blocked", f"{request.url} redirected to a refused URL: {exc}")
        elif isinstance(exc, HttpError):
            status = exc.response.status
            run.set("http_status", status)
            wait = retry_after_seconds(exc.response.headers.get(b"Retry-After"))
            if wait is not None:  # the next poll waits at least this long (crawler.polling)
                run.set("hint_seconds", wait)
            reason = classify_status(status)
            if reason in ("server", "broken") and looks_like_bot_wall(exc.response.body):
                reason = "blocked"
            run.fail(reason, source.redact(f"{source.display_url} answered HTTP {status}"))
        else:
            message = f"{source.display_url}: {type(exc).__name__}: {exc}".strip()
            run.fail(classify_exception(exc), source.redact(message))

    def article_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        run = self._run(request.meta["source"])
        run.touch()
        exc = cast(BaseException, failure.value)  # an errback's Failure always carries its exception
        if isinstance(exc, RefusedURL):  # already logged by the middleware; not a failure of the source
            run.inc("refused")
            return
        reason = classify_status(exc.response.status) if isinstance(exc, HttpError) else classify_exception(exc)
        if request.meta.get("child_sitemap"):
            run.inc("transient_failures")
            logger.warning("child sitemap %s of %s failed (%s): %s", request.url, run.name, reason, exc)
            return
        run.inc("fetched")
        run.inc("failed")
        if reason in _PERMANENT:
            run.settle(request.meta["key"])
        else:
            run.inc("transient_failures")
        logger.warning("article %s of %s failed (%s): %s", request.url, run.name, reason, exc)
