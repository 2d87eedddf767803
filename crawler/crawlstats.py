"""Per-source counts and outcomes of a crawl, kept in Scrapy's stats collector (`crawler.stats`).

Why: one crawl carries many sources, and the runner needs, per source, what happened (a report and a
health row). Scrapy already gives every crawl one place that the spider, the pipelines and the code
that started the crawl all reach: the crawler's `StatsCollector`. The spider and the pipelines write
there through `SourceStats`; after the crawl the runner reads the keys back with `source_run()`. No
mutable object is handed to the spider or fetched back from it, and the numbers also show in Scrapy's
own stats dump ("Dumping Scrapy stats") and in any stats collector (`STATS_CLASS`) a deployment uses.

Key scheme: `newswatch/<source>/<field>`, `<source>` the source's name as in `config.yaml`.

Counters (`inc_value`, absent means 0):
    fetched             article pages answered (any outcome, refused ones excepted)   spider
    failed              article pages that could not be fetched                       spider
    new_articles        articles stored for the first time                            StorePipeline
    requested           article requests queued                                       spider
    transient_failures  failures worth retrying next crawl (keep the index validators) spider
    skipped_schemes     entry links that are not http(s), never requested              spider
    malformed           entry links that are not valid URLs, never requested          spider
    refused             URLs refused by the network policy (`crawler.netpolicy`)       spider
Values (`set_value`, absent means None, or `ok` for `status`):
    status              `ok`, `unchanged` or `failed`
    error_class         the reason class of a failed index (`crawler.health`)
    error               the failure, in words
    http_status         the index's last HTTP status
    etag, last_modified, body_hash   the index validators to keep for the next conditional GET
    validators_ready    True once the index was read (or unchanged): the validators may be kept
    entries             how many entries the index listed, once it was read and parsed (feed items,
                        sitemap URLs and child sitemaps, listing links; unset on a 304 or an unchanged
                        body): 0 makes the source `empty` (`crawler.source_states`)
    last_activity       `time.monotonic()` of the source's latest response, item or failure (`max_value`)
    hint_seconds        the publisher's freshness hint (max-age, <ttl>, sy:, or Retry-After): `crawler.polling`
Lists (appended in place):
    notes               why fewer articles than entries were stored, in words
    settled_urls        canonical URLs of articles that failed for good: remember them as seen

Settings read: none.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from crawler.health import SourceRun, log_source_failure

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

STATS_PREFIX = "newswatch"

Counter = Literal[
    "fetched", "failed", "new_articles", "requested", "transient_failures", "skipped_schemes", "malformed",
    "refused",
]
Value = Literal[
    "status", "error_class", "error", "http_status", "etag", "last_modified", "body_hash", "validators_ready",
    "hint_seconds", "entries",
]

__all__ = ["STATS_PREFIX", "Counter", "SourceStats", "Value", "source_run", "stat_key"]


def stat_key(source: str, name: str) -> str:
    """The stats key of one field of one source: `newswatch/<source>/<name>`."""
    return f"{STATS_PREFIX}/{source}/{name}"


class SourceStats:
    """What a crawl did for one source, written into the crawler's stats (see the module docstring).

    A view, not a store: two `SourceStats` for one source and one collector see the same values.
    """

    __slots__ = ("_stats", "name")

    def __init__(self, stats: StatsCollector, name: str) -> None:
        self._stats = stats
        self.name = name

    def inc(self, counter: Counter, count: int = 1) -> None:
        """Add `count` to one of the source's counters."""
        self._stats.inc_value(stat_key(self.name, counter), count)

    def set(self, field: Value, value: Any) -> None:
        """Set one of the source's values."""
        self._stats.set_value(stat_key(self.name, field), value)

    def get(self, field: Value | Counter, default: Any = None) -> Any:
        """One of the source's values or counters, or `default` when it was never written."""
        return self._stats.get_value(stat_key(self.name, field), default)

    @property
    def status(self) -> str:
        """`ok`, `unchanged` or `failed` so far."""
        return str(self.get("status", "ok"))

    @property
    def notes(self) -> list[str]:
        """The notes so far (a copy)."""
        return list(self._stats.get_value(stat_key(self.name, "notes"), ()))

    def _append(self, name: str, value: str) -> None:
        key = stat_key(self.name, name)
        values = self._stats.get_value(key)
        if values is None:
            self._stats.set_value(key, [value])
        else:
            values.append(value)

    def add_note(self, text: str) -> None:
        """Say, in words, why the source stored fewer articles than its index listed."""
        self._append("notes", text)

    def settle(self, url: str) -> None:
        """Remember a canonical article URL that failed for good, so it is marked seen after the crawl."""
        self._append("settled_urls", url)

    def touch(self) -> None:
        """Record that the source did something now (its report's duration ends at the latest)."""
        self._stats.max_value(stat_key(self.name, "last_activity"), time.monotonic())

    def fail(self, error_class: str, error: str) -> None:
        """Mark the source's index as failed (the whole crawl of this source failed), and log it."""
        self.set("status", "failed")
        self.set("error_class", error_class)
        self.set("error", error)
        self.touch()
        log_source_failure(self.name, error_class, error)


def source_run(stats: Mapping[str, Any], name: str, started: float) -> SourceRun:
    """Read one source's crawl back from a crawler's stats.

    Args:
        stats: the crawler's stats (`crawler.stats.get_stats()`), possibly empty when the crawl
            never started.
        name: the source's name.
        started: `time.monotonic()` when the crawl was started (the start of the report's duration).

    Returns:
        A fresh `SourceRun` holding the source's values (defaults for what was never written).
    """

    def get(field: str, default: Any = None) -> Any:
        return stats.get(stat_key(name, field), default)

    return SourceRun(
        name=name,
        started=started,
        finished=float(get("last_activity", 0.0)),
        http_status=get("http_status"),
        status=get("status", "ok"),
        error_class=get("error_class"),
        error=get("error"),
        fetched=get("fetched", 0),
        failed=get("failed", 0),
        new_articles=get("new_articles", 0),
        transient_failures=get("transient_failures", 0),
        requested=get("requested", 0),
        etag=get("etag"),
        last_modified=get("last_modified"),
        body_hash=get("body_hash"),
        validators_ready=bool(get("validators_ready", False)),
        settled_urls=list(get("settled_urls", ())),
        skipped_schemes=get("skipped_schemes", 0),
        malformed=get("malformed", 0),
        refused=get("refused", 0),
        notes=list(get("notes", ())),
        hint_seconds=get("hint_seconds"),
        entries=get("entries"),
    )
