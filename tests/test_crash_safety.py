"""Crash safety, small: `bench/kill_test.py` with 5 trials — the real `newswatch` SIGKILLed at random
moments of crawl → match → deliver and restarted, against loopback Slack, webhook and SMTP receivers.

No alert may be lost; a duplicate (possible only between a successful send and its record) must be a
re-send of the same alert: one idempotency key, one outbox row per story and target.
Run the full measurement with `.venv/bin/python bench/kill_test.py --trials 50`.
"""

from __future__ import annotations

from pathlib import Path

from bench.kill_test import run_trials, summarize


def test_sigkill_at_random_points_loses_no_alert_and_duplicates_only_resends(tmp_path: Path) -> None:
    results = run_trials(5, seed=11, jobs=3, base=tmp_path, progress=False, matching=6, calm=2, kills=(1, 3))
    totals = summarize(results)
    details = [line for r in results for line in [*r.lost, *r.duplicate_key_violations, *r.unexpected,
                                                  *([r.error] if r.error else [])]]
    assert totals["harness_errors"] == 0, details
    assert totals["kills"] >= 5, totals
    assert totals["expected"] == 5 * 6 * 3
    assert totals["lost"] == 0, details
    assert totals["delivered"] == totals["expected"]
    assert totals["duplicate_key_violations"] == 0, details
    assert totals["unexpected"] == 0, details
    assert totals["dead_letters"] == 0
