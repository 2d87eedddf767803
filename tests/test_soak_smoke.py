"""Soak, small: `bench/soak.py` for ~20 s with 10 loopback feed sources publishing on a timer.

Every matching article published must reach the loopback Slack receiver exactly once, and the daemon
must stop cleanly on SIGTERM (exit 0, no child process left). No wall-clock assertions on latency.
Run the full measurement with `.venv/bin/python bench/soak.py --minutes 10`.
"""

from __future__ import annotations

from pathlib import Path

from bench.soak import SoakOptions, run_soak


def test_daemon_alerts_every_published_matching_article_once_and_stops_cleanly(tmp_path: Path) -> None:
    # `settle` bounds the wait for the last alerts; the soak stops waiting as soon as all arrived.
    options = SoakOptions(minutes=20 / 60, sources=10, every_min=2, every_max=4, publish_every=5.0,
                          matching_share=0.5, sample_every=5.0, settle=300.0, stop_timeout=20.0, seed=5,
                          workdir=tmp_path, quiet=True)
    result = run_soak(options)

    assert result.published_matching >= 5, "the site published matching stories while the daemon ran"
    assert result.missing == [], f"never alerted: {result.missing}"
    assert result.duplicated == {}, f"alerted more than once: {result.duplicated}"
    assert result.unexpected == [], f"alerts for calm or unknown articles: {result.unexpected}"
    assert result.alerted_once == result.published_matching
    assert result.exit_code == 0, (tmp_path / "daemon.log").read_text(encoding="utf-8")[-3000:]
    assert result.leftover_processes == []
    assert result.tracebacks == 0
    assert len(result.samples) >= 3 and all(s.processes >= 1 for s in result.samples)
