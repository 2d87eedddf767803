"""Adaptive polling against fixed intervals, on a simulated day of 500 unevenly publishing sources.

Why a simulation: the question is about policy (how many requests, how late, how many items lost
from a feed's window), not about the network, and a simulated day runs in seconds with the same
random publishing for every policy. The adaptive policy is the daemon's own code
(``crawler.polling``); nothing here re-implements it.

The model: each source publishes as a Poisson process whose rate is drawn log-uniformly over three
orders of magnitude (from one item a minute to one every ~17 hours); its feed shows the newest
``--window`` items. A poll sees every item published since the last poll that is still in the window;
an item pushed out of the window before any poll saw it is **missed**. The publication-to-fetch delay
of an item is the time from its publication to the poll that first saw it.

Policies compared in one run, on the same publications:

- ``fixed every``: every source every ``--every`` seconds (today's behaviour);
- ``fixed min_every``: every source at the floor, the brute-force way to be quick;
- ``adaptive``: ``crawler.polling`` between ``--min-every`` and ``--max-every``, starting at ``--every``.

Usage::

    python bench/bench_polling.py                 # 500 sources, one day, window 20
    python bench/bench_polling.py --sources 1000 --window 10 --seed 7
"""

from __future__ import annotations

import argparse
import bisect
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.polling import PollingBounds, RateEstimate, next_interval, observe

DAY = 86400.0


@dataclass
class Outcome:
    """What one policy cost and achieved over the simulated day."""

    name: str
    requests: int = 0
    delays: list[float] = field(default_factory=list)
    missed: int = 0
    published: int = 0


def publications(rate: float, horizon: float, rng: random.Random) -> list[float]:
    """Publication times of a Poisson process with ``rate`` items/s over ``[0, horizon)``."""
    times: list[float] = []
    now = rng.expovariate(rate)
    while now < horizon:
        times.append(now)
        now += rng.expovariate(rate)
    return times


Policy = Callable[[int, float, float], float]  # (new items, elapsed, window) -> next interval


def simulate(times: list[float], start: float, horizon: float, window: int, first_interval: float,
             choose: Callable[[int, float], float], outcome: Outcome) -> None:
    """Poll one source from ``start`` to ``horizon`` and record requests, delays and misses."""
    seen_upto = bisect.bisect_left(times, start)  # items before the first poll count as history
    now, interval = start, first_interval
    counted = [t for t in times if start <= t < horizon]
    outcome.published += len(counted)
    last_poll = start
    while now < horizon:
        outcome.requests += 1
        published = bisect.bisect_right(times, now)  # items published up to now
        oldest_visible = max(published - window, 0)
        if oldest_visible > seen_upto:  # pushed out of the window before a poll saw them
            outcome.missed += sum(1 for t in times[seen_upto:oldest_visible] if t >= start)
            seen_upto = oldest_visible
        new = times[seen_upto:published]
        outcome.delays.extend(now - t for t in new if t >= start)
        seen_upto = published
        interval = choose(len(new), now - last_poll)
        last_poll = now
        now += interval


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--window", type=int, default=20, help="items a feed shows")
    parser.add_argument("--every", type=float, default=600.0, help="fixed interval, s (default 10 min)")
    parser.add_argument("--min-every", type=float, default=60.0)
    parser.add_argument("--max-every", type=float, default=2 * 3600.0)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    warmup = DAY  # a day of history before the measured day, so the estimate has settled
    bounds = PollingBounds(args.every, args.min_every, args.max_every)
    fixed, floor, adaptive = Outcome("fixed every"), Outcome("fixed min_every"), Outcome("adaptive")
    for _ in range(args.sources):
        rate = 10 ** rng.uniform(-4.8, -1.78)  # one item per ~17 h ... one item per minute
        times = publications(rate, warmup + DAY, rng)
        phase = rng.uniform(0, args.every)
        simulate(times, warmup + phase, warmup + DAY, args.window, args.every,
                 lambda _n, _e: args.every, fixed)
        simulate(times, warmup + phase, warmup + DAY, args.window, args.min_every,
                 lambda _n, _e: args.min_every, floor)
        state = {"estimate": RateEstimate()}

        def choose(new: int, elapsed: float, state: dict[str, RateEstimate] = state) -> float:
            state["estimate"] = observe(state["estimate"], new, elapsed)
            return next_interval(bounds, state["estimate"], window=args.window, last_new_items=new,
                                 last_elapsed=elapsed)

        # The adaptive source also polls through the warm-up day, as a running daemon would have.
        warm = Outcome("warm-up")
        simulate(times, phase, warmup, args.window, args.every, choose, warm)
        simulate(times, warmup + phase, warmup + DAY, args.window, args.every, choose, adaptive)
    print(f"{args.sources} sources, Poisson rates over three orders of magnitude, feed window "
          f"{args.window}, one simulated day (seed {args.seed}); adaptive bounds "
          f"{args.min_every:g}-{args.max_every:g} s, fixed every {args.every:g} s")
    print(f"{'policy':<18}{'requests':>10}{'vs fixed':>10}{'items':>8}{'delay p50 s':>13}{'delay p95 s':>13}"
          f"{'missed':>8}")
    for outcome in (fixed, floor, adaptive):
        print(f"{outcome.name:<18}{outcome.requests:>10}{outcome.requests / fixed.requests:>10.2f}"
              f"{outcome.published:>8}{statistics.median(outcome.delays):>13.0f}"
              f"{percentile(outcome.delays, 0.95):>13.0f}{outcome.missed:>8}")
    return 1 if adaptive.missed else 0


if __name__ == "__main__":
    sys.exit(main())
