"""Soak: the real daemon against 200 loopback feed sources publishing on a timer — memory, descriptors,
database size and publication-to-alert latency over time (issue 6).

Usage: .venv/bin/python bench/soak.py [--minutes 10] [--sources 200] [--every 10-30] [--publish-every 120]

A loopback news site serves one RSS feed per source; each source polls at an interval drawn from
`--every` (seconds, e.g. 10–30) and publishes a new article every `--publish-every` seconds on average
(±50%), `--matching-share` of them stories the default watchlists match (maritime disputes, arms
deals), the rest calm news. `newswatch run` crawls them with a loopback Slack receiver as its only
target. Every `--sample-every` seconds the script reads from /proc the RSS and open file descriptors
of the daemon and its children (the extraction pool) and the size of the database files. When
publishing stops it waits for the last alerts, sends SIGTERM and times the shutdown.

Printed: a table over time, then the figures and verdicts —
- RSS flat: after warm-up (`--warmup`, default 20% of the run, at least 1 minute when the run allows),
  no sample above, and the last minute's mean within, 10% of the first post-warm-up minute's mean;
- latency: publication (the moment the item appeared in its feed) to the Slack receiver's arrival,
  p50/p95/max overall, and p95 of (latency − that source's interval) ≤ 5 s;
- every matching article alerted exactly once; the daemon exits 0 on SIGTERM within the stop bound.
Nothing leaves 127.0.0.1; the run ends by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._loopback_news import (  # noqa: E402
    NEWSWATCH,
    AlertSink,
    NewsSite,
    StoryFactory,
    alert_paths,
    percentile,
    target_env,
    tree_usage,
    write_config,
)

MB = 1024 * 1024


@dataclass
class SoakOptions:
    """What to run: sizes, rates and timings (seconds unless named otherwise)."""

    minutes: float = 10.0
    sources: int = 200
    every_min: int = 10
    every_max: int = 30
    publish_every: float = 120.0
    matching_share: float = 0.3
    sample_every: float = 10.0
    warmup: float | None = None  # default: 20% of the run, at least 60 s when the run is 5 min or longer
    settle: float | None = None  # wait for last alerts; default every_max + 30
    stop_timeout: float = 30.0
    seed: int = 1
    workdir: Path | None = None
    quiet: bool = False


@dataclass
class Sample:
    t: float  # seconds since the daemon started
    processes: int
    rss: int
    main_rss: int
    fds: int
    db_bytes: int
    published: int
    alerts: int


@dataclass
class SoakResult:
    """Everything measured in one soak run."""

    options: SoakOptions
    samples: list[Sample] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    excess: list[float] = field(default_factory=list)  # latency − the source's interval
    published: int = 0
    published_matching: int = 0
    alerted_once: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)  # alerts for calm or unknown paths
    exit_code: int | None = None
    stop_seconds: float = 0.0
    tracebacks: int = 0
    errors: int = 0
    site_hits: dict[str, int] = field(default_factory=dict)
    leftover_processes: list[str] = field(default_factory=list)

    @property
    def warmup(self) -> float:
        duration = self.options.minutes * 60
        if self.options.warmup is not None:
            return self.options.warmup
        return max(0.2 * duration, 60.0) if duration >= 300 else 0.2 * duration

    def rss_verdict(self) -> tuple[bool, float, float, float]:
        """(flat, baseline MB, last-minute MB, max MB after warm-up)."""
        end = self.options.minutes * 60
        after = [s for s in self.samples if self.warmup <= s.t <= end]
        if len(after) < 2:
            return False, float("nan"), float("nan"), float("nan")
        window = min(60.0, (end - self.warmup) / 2)
        first = [s.rss for s in after if s.t < self.warmup + window] or [after[0].rss]
        last = [s.rss for s in after if s.t > end - window] or [after[-1].rss]
        baseline, final, peak = sum(first) / len(first), sum(last) / len(last), max(s.rss for s in after)
        flat = peak <= 1.10 * baseline and abs(final - baseline) <= 0.10 * baseline
        return flat, baseline / MB, final / MB, peak / MB


def _db_bytes(database: Path) -> int:
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*") if p.is_file())


def _log(options: SoakOptions, text: str) -> None:
    if not options.quiet:
        print(text, flush=True)


def run_soak(options: SoakOptions) -> SoakResult:
    """Run one soak as `options` says and return the measurements (prints progress unless quiet)."""
    result = SoakResult(options)
    rng = random.Random(options.seed)
    factory = StoryFactory(seed=options.seed)
    with contextlib.ExitStack() as stack:
        workdir = options.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nw-soak-")))
        workdir.mkdir(parents=True, exist_ok=True)
        site = stack.enter_context(NewsSite())
        slack = stack.enter_context(AlertSink())
        names = [f"outlet-{i:03d}" for i in range(options.sources)]
        intervals = {n: rng.randint(options.every_min, options.every_max) for n in names}
        urls = {n: site.add_source(n) for n in names}
        for name in names:  # the feeds are not empty at start: a couple of calm items each
            for _ in range(2):
                site.publish(name, factory.make("calm"))
        config = write_config(workdir / "config.yaml", urls, {n: f"{s}s" for n, s in intervals.items()},
                              delivery_every="5s")
        database = workdir / "newswatch.db"
        env = target_env(slack.url("/services/T000/B000/soak"), None, None)
        log_path = workdir / "daemon.log"
        log_file = stack.enter_context(log_path.open("w", encoding="utf-8"))
        daemon = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config), "--stop-timeout",
                                   str(options.stop_timeout)], cwd=workdir, env=env, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        started = time.time()
        try:
            _drive(options, result, rng, factory, site, slack, names, database, daemon, started)
        finally:
            if daemon.poll() is None:
                stop_at = time.monotonic()
                daemon.send_signal(signal.SIGTERM)
                try:
                    result.exit_code = daemon.wait(timeout=options.stop_timeout + 30)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    result.exit_code = daemon.wait(timeout=10)
                result.stop_seconds = time.monotonic() - stop_at
            else:
                result.exit_code = daemon.returncode
            result.leftover_processes = _session_leftovers(daemon.pid)
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        result.tracebacks = log_text.count("Traceback")
        result.errors = sum(1 for line in log_text.splitlines() if " ERROR " in line)
        _tally(result, site, slack, intervals)
    return result


def _session_leftovers(pid: int, grace: float = 5.0) -> list[str]:
    """Command lines of processes still in the daemon's session `grace` s after it exited.

    They were started by the daemon (its session), so they are ours to end: killed here, by id.
    """
    import os

    def members() -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.getsid(int(entry)) == pid:
                        found.append(int(entry))
        return found

    deadline = time.monotonic() + grace
    while members() and time.monotonic() < deadline:
        time.sleep(0.2)
    left = []
    for member in members():
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            os.kill(member, signal.SIGKILL)
            left.append(f"{member}: {cmdline}")
    return left


def _drive(options: SoakOptions, result: SoakResult, rng: random.Random, factory: StoryFactory,
           site: NewsSite, slack: AlertSink, names: list[str], database: Path,
           daemon: subprocess.Popen[bytes], started: float) -> None:
    duration = options.minutes * 60
    next_publish = {n: started + rng.uniform(0.2, 1.0) * options.publish_every for n in names}
    next_sample = started
    header = f"{'t (s)':>6} {'procs':>5} {'RSS MB':>7} {'main MB':>7} {'FDs':>5} {'DB MB':>6} {'pub':>5} {'alerts':>6}"
    _log(options, header)
    while time.time() - started < duration:
        now = time.time()
        if daemon.poll() is not None:
            _log(options, f"daemon exited early with {daemon.returncode}")
            return
        for name in names:
            if now >= next_publish[name]:
                topic = rng.choice(["maritime", "arms"]) if rng.random() < options.matching_share else "calm"
                site.publish(name, factory.make(topic))
                next_publish[name] = now + rng.uniform(0.5, 1.5) * options.publish_every
        if now >= next_sample:
            _sample(options, result, site, slack, database, daemon, started)
            next_sample += options.sample_every
        time.sleep(0.2)
    # Publishing stops; wait for the alerts of what was published (bounded), sampling on.
    settle = options.settle if options.settle is not None else options.every_max + 30
    deadline = time.time() + settle
    want = {p.path for p in site.published() if p.story.matching}
    while time.time() < deadline and daemon.poll() is None:
        got = {path for r in slack.snapshot() for path in alert_paths(r.body)}
        if want <= got:
            break
        if time.time() >= next_sample:
            _sample(options, result, site, slack, database, daemon, started)
            next_sample += options.sample_every
        time.sleep(0.5)
    _sample(options, result, site, slack, database, daemon, started)


def _sample(options: SoakOptions, result: SoakResult, site: NewsSite, slack: AlertSink, database: Path,
            daemon: subprocess.Popen[bytes], started: float) -> None:
    usage = tree_usage(daemon.pid)
    db_bytes = _db_bytes(database) if database.exists() else 0
    s = Sample(time.time() - started, usage.processes, usage.rss_bytes, usage.main_rss_bytes, usage.fds,
               db_bytes, len(site.published()), len(slack.snapshot()))
    result.samples.append(s)
    _log(options, f"{s.t:6.0f} {s.processes:5d} {s.rss / MB:7.1f} {s.main_rss / MB:7.1f} {s.fds:5d} "
                  f"{s.db_bytes / MB:6.2f} {s.published:5d} {s.alerts:6d}")


def _tally(result: SoakResult, site: NewsSite, slack: AlertSink, intervals: dict[str, int]) -> None:
    published = site.published()
    result.published = len(published)
    by_path = {p.path: p for p in published}
    arrivals: dict[str, list[float]] = {}
    for received in slack.snapshot():
        paths = alert_paths(received.body)
        for path in paths:
            arrivals.setdefault(path, []).append(received.at)
        if not paths:
            result.unexpected.append(received.body[:80].decode("utf-8", "replace"))
    for path in arrivals:
        item = by_path.get(path)
        if item is None or not item.story.matching:
            result.unexpected.append(path)
    for item in published:
        if not item.story.matching:
            continue
        result.published_matching += 1
        times = arrivals.get(item.path, [])
        if not times:
            result.missing.append(item.path)
            continue
        if len(times) > 1:
            result.duplicated[item.path] = len(times)
        else:
            result.alerted_once += 1
        latency = min(times) - item.at
        result.latencies.append(latency)
        result.excess.append(latency - intervals[item.source])
    result.site_hits = dict(site.hits)


def fd_floor_flat(after: list[Sample]) -> bool:
    """Whether the lowest descriptor count of the last minute is within 10% (+2) of the first minute's."""
    if not after:
        return True
    first = [x.fds for x in after if x.t < after[0].t + 60]
    last = [x.fds for x in after if x.t > after[-1].t - 60]
    return min(last) <= 1.10 * min(first) + 2


def report(result: SoakResult) -> bool:
    """Print the figures and verdicts; True when every verdict passes."""
    o = result.options
    flat, base, final, peak = result.rss_verdict()
    after = [s for s in result.samples if s.t >= result.warmup]
    fds_after = [s.fds for s in after] or [0]
    lat = result.latencies
    p50, p95, worst = percentile(lat, 50), percentile(lat, 95), max(lat, default=float("nan"))
    excess95 = percentile(result.excess, 95)
    last = result.samples[-1] if result.samples else None
    print()
    print(f"soak: {o.sources} sources polled every {o.every_min}-{o.every_max} s, one new article per "
          f"source every ~{o.publish_every:g} s ({o.matching_share:.0%} matching), {o.minutes:g} min, "
          f"warm-up {result.warmup:.0f} s")
    print(f"published {result.published} articles ({result.published_matching} matching); "
          f"site served {result.site_hits.get('feed', 0)} feed requests "
          f"({result.site_hits.get('feed_304', 0)} answered 304) and {result.site_hits.get('article', 0)} pages")
    print(f"RSS (daemon + children): first post-warm-up minute {base:.1f} MB, last minute {final:.1f} MB, "
          f"max after warm-up {peak:.1f} MB, overall max {max((s.rss for s in result.samples), default=0) / MB:.1f} MB")
    print(f"open FDs after warm-up: min {min(fds_after)}, max {max(fds_after)}, last {last.fds if last else 0}")
    if last:
        per_article = last.db_bytes / max(result.published, 1)
        print(f"database: {last.db_bytes / MB:.2f} MB at the end ({per_article / 1024:.1f} KB per article, "
              "WAL included)")
    print(f"latency publication -> Slack (s): p50 {p50:.1f}, p95 {p95:.1f}, max {worst:.1f} "
          f"(n={len(lat)}); p95 of latency minus the source's interval {excess95:.1f}")
    print(f"alerts: {result.alerted_once} exactly once, {len(result.missing)} missing, "
          f"{len(result.duplicated)} duplicated, {len(result.unexpected)} unexpected")
    print(f"shutdown: exit code {result.exit_code} after SIGTERM in {result.stop_seconds:.1f} s; "
          f"{len(result.leftover_processes)} processes left behind; log: {result.tracebacks} tracebacks, "
          f"{result.errors} ERROR lines")
    verdicts = {
        "RSS flat within 10% after warm-up": flat,
        # Descriptors follow the connections in flight, so compare the idle floor of the first and last
        # minutes (a leak raises the floor) rather than min against max.
        "FDs flat after warm-up (idle floor, last vs first minute, within 10%)": fd_floor_flat(after),
        "p95 latency <= source interval + 5 s": excess95 <= 5.0,
        f"p95 latency <= longest interval + 5 s ({o.every_max + 5} s)": p95 <= o.every_max + 5,
        "every matching article alerted exactly once": result.alerted_once == result.published_matching
        and not result.unexpected,
        "clean stop on SIGTERM (exit 0, nothing left)": result.exit_code == 0 and not result.leftover_processes,
    }
    for name, ok in verdicts.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    if result.missing:
        print("  missing (first 5):", ", ".join(result.missing[:5]))
    for line in result.leftover_processes:
        print("  left behind:", line)
    return all(verdicts.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--every", default="10-30", help="source poll interval range in seconds, e.g. 10-30")
    parser.add_argument("--publish-every", type=float, default=120.0,
                        help="mean seconds between new articles of one source")
    parser.add_argument("--matching-share", type=float, default=0.3)
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default 20%% of the run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the database and log here")
    args = parser.parse_args(argv)
    low, _, high = args.every.partition("-")
    options = SoakOptions(minutes=args.minutes, sources=args.sources, every_min=int(low),
                          every_max=int(high or low), publish_every=args.publish_every,
                          matching_share=args.matching_share, sample_every=args.sample_every,
                          warmup=args.warmup, seed=args.seed, workdir=args.workdir)
    return 0 if report(run_soak(options)) else 1


if __name__ == "__main__":
    sys.exit(main())
