"""How often to poll a source: an interval that follows how often the outlet actually publishes.

A fixed ``every`` wastes requests on a weekly blog and misses items on a wire that publishes faster
than its feed window holds. This module keeps, per source, a small *publishing-rate estimate* and
turns it into the next interval, bounded by the source's ``min_every`` and ``max_every``:

- **The estimate** is a decayed count of new items over a decayed span of time (both discounted with
  a time constant, :data:`MEMORY_SECONDS`, so it forgets an old burst after a day or two and does not
  depend on how often the source happened to be polled). A prior of one item per ``every`` with
  little weight keeps a new source at its configured interval until it has history.
- **The interval** follows the square-root rule: the geometric mean of ``every`` and the mean gap
  between items, ``sqrt(every / rate)``. For items arriving as a Poisson process, polling each source
  at an interval proportional to ``1/sqrt(rate)`` gives the least mean publication-to-fetch delay for a
  given number of requests (Cho & Garcia-Molina, "Effective page refresh policies for Web crawlers",
  2003, derive the same allocation for freshness). A source that publishes once per ``every`` keeps
  ``every``; one a hundred times busier is polled ten times as often, one a hundred times quieter
  ten times as rarely. Aiming at a fixed number of items per poll instead (interval = mean gap) cost
  1.3 times the requests of a fixed interval with a worse p95 delay in ``bench/bench_polling.py``.
- **The window never overflows**: the interval keeps half the feed's window in reserve, and when a
  poll finds the window full of new items (items may have been missed), the next interval is at most
  a quarter of the time the window took to fill.
- **Hints** from the publisher bound it from below: RSS ``<ttl>`` (minutes), ``sy:updatePeriod`` /
  ``sy:updateFrequency``, and ``Cache-Control: max-age`` say how long a copy stays fresh; polling
  sooner than that cannot find anything new. A ``Retry-After`` delays only the next poll. Hints never
  push the interval above ``max_every``: the user's ceiling wins.

Everything here is pure arithmetic over numbers, so the scheduler, the workers and
``bench/bench_polling.py`` share it. Settings read: none (callers pass ``every``, ``min_every``,
``max_every``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

MEMORY_SECONDS = 86400.0  # time constant of the decay: an item weighs half after ~17 hours
PRIOR_ITEMS = 0.5  # weight of the prior "one item per `every`", in items
FULL_WINDOW = 0.9  # a poll that finds this share of the window new may have missed items

_UPDATE_PERIOD_SECONDS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0,
                          "monthly": 30 * 86400.0, "yearly": 365 * 86400.0}


@dataclass(frozen=True, slots=True)
class PollingBounds:
    """The user's settings for one source: the starting interval and its floor and ceiling (seconds)."""

    every: float
    min_every: float
    max_every: float

    def __post_init__(self) -> None:
        if not 0 < self.min_every <= self.every <= self.max_every:
            raise ValueError(
                f"need 0 < min_every <= every <= max_every, got {self.min_every:g} s, {self.every:g} s, "
                f"{self.max_every:g} s")

    @property
    def adaptive(self) -> bool:
        """False when floor and ceiling are both ``every``: the source keeps a fixed interval."""
        return self.min_every < self.max_every


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """Decayed sums behind a publishing-rate estimate; stored with the source's state."""

    items: float = 0.0  # decayed count of new items seen
    seconds: float = 0.0  # decayed span of time those polls covered

    def rate(self, bounds: PollingBounds) -> float:
        """Items per second, the prior of one item per ``every`` mixed in with weight ``PRIOR_ITEMS``."""
        return (self.items + PRIOR_ITEMS) / (self.seconds + PRIOR_ITEMS * bounds.every)


def observe(estimate: RateEstimate, new_items: int, elapsed: float) -> RateEstimate:
    """The estimate after a poll that found ``new_items`` new items ``elapsed`` seconds after the last one."""
    elapsed = max(elapsed, 0.0)
    keep = math.exp(-elapsed / MEMORY_SECONDS)
    return replace(estimate, items=estimate.items * keep + max(new_items, 0),
                   seconds=estimate.seconds * keep + elapsed)


def hint_seconds(*, ttl_minutes: float | None = None, update_period: str | None = None,
                 update_frequency: float | None = None, max_age: float | None = None) -> float | None:
    """The longest freshness hint the publisher gave, in seconds (None when it gave none).

    ``update_period``/``update_frequency`` are the syndication module's (``sy:``): "hourly" with
    frequency 2 means twice an hour.
    """
    hints: list[float] = []
    if ttl_minutes is not None and ttl_minutes > 0:
        hints.append(ttl_minutes * 60.0)
    if update_period:
        period = _UPDATE_PERIOD_SECONDS.get(update_period.strip().lower())
        if period is not None:
            frequency = update_frequency if update_frequency and update_frequency > 0 else 1.0
            hints.append(period / frequency)
    if max_age is not None and max_age > 0:
        hints.append(max_age)
    return max(hints) if hints else None


def next_interval(bounds: PollingBounds, estimate: RateEstimate, *, window: int | None = None,
                  last_new_items: int = 0, last_elapsed: float = 0.0, hint: float | None = None) -> float:
    """Seconds until the next poll of a source, within ``[min_every, max_every]``.

    Args:
        bounds: the source's ``every``, ``min_every`` and ``max_every``.
        estimate: its publishing-rate estimate, already updated with the last poll.
        window: how many items the feed holds (None when unknown).
        last_new_items: new items the last poll found.
        last_elapsed: seconds between the last two polls.
        hint: the publisher's freshness hint in seconds (:func:`hint_seconds`).
    """
    if not bounds.adaptive:
        return bounds.every
    interval = math.sqrt(bounds.every / estimate.rate(bounds))  # the square-root rule (module docstring)
    if window and last_new_items >= FULL_WINDOW * window and last_elapsed > 0:
        interval = min(interval, last_elapsed / 4)  # the window overflowed: catch up quickly
    elif window:
        interval = min(interval, window / 2 / estimate.rate(bounds))  # keep half the window in reserve
    if hint is not None:
        interval = max(interval, hint)
    return min(max(interval, bounds.min_every), bounds.max_every)


def retry_after_delay(interval: float, retry_after: float | None) -> float:
    """The delay before the next poll when the server sent ``Retry-After``: never sooner than it asked."""
    return max(interval, retry_after) if retry_after is not None and retry_after > 0 else interval


_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>", re.I)
_PERIOD = re.compile(rb"<sy:updatePeriod>\s*([a-z]+)\s*</sy:updatePeriod>", re.I)
_FREQUENCY = re.compile(rb"<sy:updateFrequency>\s*(\d{1,6})\s*</sy:updateFrequency>", re.I)
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d{1,9})", re.I)
HINT_SCAN_BYTES = 64 * 1024  # the channel's own elements come before its items


def response_hint(headers: Mapping[str, str], body: bytes) -> float | None:
    """The freshness hint of a fetched index: ``Cache-Control: max-age`` and the feed's ``<ttl>`` or ``sy:``.

    Read with three small patterns over the start of the body rather than a second parse: the
    channel's elements come before its items.
    """
    head = body[:HINT_SCAN_BYTES]
    ttl, period, frequency = _TTL.search(head), _PERIOD.search(head), _FREQUENCY.search(head)
    control = next((v for k, v in headers.items() if k.lower() == "cache-control"), "")
    age = _MAX_AGE.search(control or "")
    return hint_seconds(
        ttl_minutes=float(ttl.group(1)) if ttl else None,
        update_period=period.group(1).decode("ascii") if period else None,
        update_frequency=float(frequency.group(1)) if frequency else None,
        max_age=float(age.group(1)) if age else None)
