"""Adaptive polling: the interval follows how often a source publishes, within its bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.items import SourceSpec
from crawler.polling import (
    PollingBounds,
    RateEstimate,
    hint_seconds,
    next_interval,
    observe,
    retry_after_delay,
)
from tests.crawler.sites import article_html, rss, run_crawl
from tests.loopback import LoopbackHTTPServer

BOUNDS = PollingBounds(every=600, min_every=60, max_every=7200)


def _poll(estimate: RateEstimate, interval: float, new: int) -> tuple[RateEstimate, float]:
    estimate = observe(estimate, new, interval)
    return estimate, next_interval(BOUNDS, estimate, window=20, last_new_items=new, last_elapsed=interval)


def test_a_new_source_starts_at_every() -> None:
    assert next_interval(BOUNDS, RateEstimate()) == pytest.approx(600)


def test_a_burst_shortens_the_interval_and_silence_lengthens_it_within_bounds() -> None:
    estimate, interval = RateEstimate(), 600.0
    for _ in range(30):  # a busy hour: ten new items a poll
        estimate, interval = _poll(estimate, interval, 10)
    busy = interval
    assert BOUNDS.min_every <= busy < 600
    silent, intervals = 0.0, []
    while silent < 10 * 86400:  # then nothing for ten days
        estimate, interval = _poll(estimate, interval, 0)
        silent += interval
        intervals.append(interval)
    assert intervals == sorted(intervals)  # it backs off steadily, never jumps back
    assert busy < 600 < interval <= BOUNDS.max_every
    assert interval == BOUNDS.max_every  # a source silent for days sits at the ceiling


def test_a_full_window_means_polling_sooner() -> None:
    estimate = observe(RateEstimate(), 20, 600)
    assert next_interval(BOUNDS, estimate, window=20, last_new_items=20, last_elapsed=600) <= 150


def test_fixed_bounds_keep_a_fixed_interval() -> None:
    fixed = PollingBounds(300, 300, 300)
    assert not fixed.adaptive
    assert next_interval(fixed, observe(RateEstimate(), 50, 300), window=20, last_new_items=50) == 300


def test_publisher_hints_are_a_floor_but_never_above_the_ceiling() -> None:
    busy = observe(RateEstimate(), 100, 600)
    assert next_interval(BOUNDS, busy, hint=1800) == 1800
    assert next_interval(BOUNDS, busy, hint=86400) == BOUNDS.max_every
    assert hint_seconds(ttl_minutes=30) == 1800
    assert hint_seconds(update_period="hourly", update_frequency=2) == 1800
    assert hint_seconds(ttl_minutes=5, max_age=900) == 900
    assert hint_seconds() is None
    assert hint_seconds(update_period="fortnightly") is None


def test_retry_after_only_delays() -> None:
    assert retry_after_delay(60, 300) == 300
    assert retry_after_delay(600, 300) == 600
    assert retry_after_delay(600, None) == 600


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="min_every <= every <= max_every"):
        PollingBounds(every=60, min_every=300, max_every=600)


def test_response_hints_are_read_from_the_feed_and_its_headers() -> None:
    from crawler.polling import response_hint

    feed = b'<rss><channel><ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod><item></item></channel></rss>'
    assert response_hint({}, feed) == 3600  # the longest hint: hourly
    assert response_hint({"Cache-Control": "public, max-age=900"}, b"<rss/>") == 900
    assert response_hint({}, b"<rss><channel></channel></rss>") is None


def test_a_crawl_reports_the_publishers_hint_and_retry_after(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site:
        feed = rss([(site.url("/a1"), "Story", "x")]).replace(b"<channel>", b"<channel><ttl>30</ttl>", 1)
        site.add("/a1", article_html("Story", "Body."))
        site.add("/feed.xml", feed, "application/rss+xml", headers={"Cache-Control": "max-age=600"})
        site.add("/busy.xml", b"slow down", "text/plain", status=429, headers={"Retry-After": "7200"})
        reports = {r["source"]: r for r in run_crawl(tmp_path / "nw.db", [
            SourceSpec(name="hinted", kind="feed", url=site.url("/feed.xml")),
            SourceSpec(name="busy", kind="feed", url=site.url("/busy.xml"))])}
    assert reports["hinted"]["hint_seconds"] == 1800 and reports["hinted"]["new_articles"] == 1
    assert reports["busy"]["error_class"] and reports["busy"]["hint_seconds"] == 7200
