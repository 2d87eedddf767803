"""Crash safety: SIGKILL the real `newswatch` at random moments of crawl → match → deliver, restart,
and count per expected alert (story × target) how often it was delivered (issue 5).

Usage: .venv/bin/python bench/kill_test.py [--trials 50] [--jobs 2] [--seed 1]

Each trial builds its own loopback world: a news site with three feed sources publishing stories the
default watchlists match (maritime disputes, arms deals; one of them syndicated by a second outlet
under another URL, so it must still alert once) and calm stories, in two waves; a loopback Slack
receiver, a JSON webhook receiver (Idempotency-Key header) and aiosmtpd (Message-ID). The receivers
hold their answer back for a random 50–300 ms after accepting, so a kill often lands between a
receiver accepting an alert and the daemon recording it; in some trials the webhook also fails 15%
of calls with 500 and the SMTP server 10% with 451.

A trial runs 2–4 rounds that end in SIGKILL, each `newswatch run` (or, one round in four,
`newswatch crawl --once`) killed by one trigger: after a random delay; on the n-th article page the
site served (crawl); on the n-th article the matcher committed (match, from the DEBUG log); or on the
n-th alert a receiver accepted (deliver, while the send is in flight). Then a last daemon runs until
every alert is in or nothing more happens. A send cut off by the kill leaves its outbox row leased
for `alerts.delivery.LEASE` (5 min), and that row holds the target's queue; instead of waiting, the
harness then drains the outbox once with the product's own `scheduler.tasks.deliver_pending()` and
the clock set past the lease, and reports how many alerts needed it.

Counted per (story, target): delivered (accepted at least once), lost (never accepted; must be 0),
duplicated (accepted more than once: only possible between a successful send and its record).
Duplicates must carry one idempotency key (webhook header, email Message-ID; for Slack, one outbox
row per story and target in the database). Orphaned child processes after a kill are counted too.
Nothing leaves 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._loopback_news import (  # noqa: E402
    NEWSWATCH,
    AlertSink,
    MailSink,
    NewsSite,
    Received,
    StoryFactory,
    alert_paths,
    target_env,
    write_config,
)

TARGETS = ("slack-analysts", "webhook-archive", "email-analysts")
TRIGGERS = ("time", "crawl", "match", "deliver")
ROUND_TIMEOUT = 25.0  # a trigger that does not fire by then falls back to a kill at that moment
SETTLE_TIMEOUT = 60.0
QUIET_SECONDS = 6.0  # the last daemon stops after this long with nothing new arriving
_MATCH_LINE = re.compile(r"article \d+ \(.*\) → story \d+")


@dataclass
class TrialResult:
    """What one trial counted."""

    trial: int
    expected: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)  # "target story" → deliveries
    duplicate_key_violations: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)
    kills_mid_send: int = 0
    rounds_finished_before_kill: int = 0
    lease_expiry_delivered: int = 0
    dead_letters: int = 0
    still_pending: int = 0  # outbox rows not sent when the trial ended (a lost alert would be here or nowhere)
    orphans: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0
    seconds: float = 0.0
    error: str | None = None


class _Round:
    """One run of the product, watched for its kill trigger."""

    def __init__(self, args: list[str], workdir: Path, env: dict[str, str], log: Path) -> None:
        self.matches = 0
        self.started = threading.Event()  # "newswatch started": signal handlers are in place
        self.match_event = threading.Event()
        self.match_target = 0
        self._log = log.open("a", encoding="utf-8")
        self._log.write(f"--- {' '.join(args)}\n")
        self.proc = subprocess.Popen([*NEWSWATCH, *args], cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._log.write(line)
            if "newswatch started" in line:
                self.started.set()
            if _MATCH_LINE.search(line):
                self.matches += 1
                if self.match_target and self.matches >= self.match_target:
                    self.match_event.set()

    def kill(self) -> list[str]:
        """SIGKILL the main process only (a crash), then end what it left in its session (our processes)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        return self.finish()

    def stop(self, timeout: float = 45.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None when it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                self.finish()
                return None
        self.finish()
        return self.proc.returncode

    def finish(self, grace: float = 3.0) -> list[str]:
        """Wait `grace` s for children to leave by themselves; kill the ones that stay, return what they were."""
        deadline = time.monotonic() + grace
        left = _session(self.proc.pid)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = _session(self.proc.pid)
        names = []
        for pid in left:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                names.append(next((part.decode()[:60] for part in cmdline if b"import" in part), cmdline[0].decode()))
                os.kill(pid, signal.SIGKILL)
        # Children inherit stderr: only once they are gone does the reader see EOF. Closing the pipe
        # while the reader is still blocked in it would deadlock, so a stuck reader is left alone.
        self._reader.join(timeout=5)
        if not self._reader.is_alive() and self.proc.stderr is not None:
            self.proc.stderr.close()
        self._log.flush()
        if not self._reader.is_alive():
            self._log.close()
        return names


def _session(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) == sid:
                    found.append(int(entry))
    return found


def _mail_paths(raw: bytes) -> set[str]:
    message = message_from_bytes(raw)
    paths: set[str] = set()
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            paths |= alert_paths(payload)
    return paths


class Trial:
    """One loopback world, several killed runs, one settling run, and the count."""

    def __init__(self, number: int, seed: int, workdir: Path, matching: int = 8, calm: int = 4,
                 kills: tuple[int, int] = (2, 4)) -> None:
        self.number = number
        self.kills = kills
        self.rng = random.Random(seed * 1000 + number)
        self.workdir = workdir
        self.result = TrialResult(number)
        factory = StoryFactory(seed=seed * 1000 + number)
        self.stories = factory.mix(matching, calm)
        self.delay = self.rng.uniform(0.05, 0.3)
        flaky = self.rng.random() < 0.3
        self.site = NewsSite(keep_requests=False)
        self.slack = AlertSink(delay=self.delay)
        self.hook = AlertSink(delay=self.delay, fail_rate=0.15 if flaky else 0.0)
        self.mail = MailSink(delay=self.delay, fail_rate=0.10 if flaky else 0.0)
        self.deliver_event = threading.Event()
        self.deliver_target = 0
        self._accepted = 0
        self._accept_lock = threading.Lock()
        for sink in (self.slack, self.hook, self.mail):
            sink.behaviour.rng = random.Random(self.rng.random())
            sink.behaviour.on_accept = self._on_accept
        self.log = workdir / "daemon.log"

    def _on_accept(self, _received: Received) -> None:
        with self._accept_lock:
            self._accepted += 1
            if self.deliver_target and self._accepted >= self.deliver_target:
                self.deliver_event.set()

    # -- the world ---------------------------------------------------------------------------
    def _publish_wave(self, stories: list[object]) -> None:
        for story in stories:
            self.site.publish(self.rng.choice(self.sources), story)  # type: ignore[arg-type]

    def run(self) -> TrialResult:
        started = time.monotonic()
        try:
            with self.site, self.slack, self.hook, self.mail:
                self._run()
        except Exception as exc:  # a harness failure is reported with the trial, not hidden
            self.result.error = f"{type(exc).__name__}: {exc}"
        self.result.seconds = time.monotonic() - started
        return self.result

    def _run(self) -> None:
        self.sources = ["outlet-a", "outlet-b", "outlet-c"]
        urls = {name: self.site.add_source(name) for name in self.sources}
        self.config = write_config(self.workdir / "config.yaml", urls, every="2s", log_level="DEBUG")
        self.env = target_env(self.slack.url("/services/T000/B000/kill"), self.hook.url("/hook"), self.mail.port)
        half = len(self.stories) // 2
        self._publish_wave(self.stories[:half])
        # Wire copy: the first matching story also runs on another outlet, under its own URL.
        self.syndicated: dict[str, str] = {}
        first = next(s for s in self.stories if s.matching)
        copy_source = self.rng.choice(self.sources)
        copy = self.site.publish(copy_source, first, path=f"/news/{first.slug[:5]}-wire-copy-{copy_source}")
        self.syndicated[copy.path] = f"/news/{first.slug}"
        later = self.stories[half:]
        for round_no in range(self.rng.randint(*self.kills)):
            if later and round_no == 1:
                self._publish_wave(later)
                later = []
            self._killed_round()
        if later:
            self._publish_wave(later)
        self._settle()
        self._count()

    # -- rounds ------------------------------------------------------------------------------
    def _killed_round(self) -> None:
        once = self.rng.random() < 0.25
        args = ["crawl", "--once"] if once else ["run", "--stop-timeout", "10"]
        trigger = self.rng.choice(TRIGGERS)
        pages_before = self.site.hits["article"]
        with self._accept_lock:
            accepted_before = self._accepted
            self.deliver_event.clear()
            self.deliver_target = 0
        run = _Round([*args, "--config", str(self.config)], self.workdir, self.env, self.log)
        deadline = time.monotonic() + ROUND_TIMEOUT
        fired = "time"
        if trigger == "time":
            _sleep_until(run, time.monotonic() + self.rng.uniform(0.3, 9.0))
        elif trigger == "crawl":
            target = pages_before + self.rng.randint(1, 4)
            while self.site.hits["article"] < target and time.monotonic() < deadline and run.proc.poll() is None:
                time.sleep(0.01)
            fired = "crawl" if self.site.hits["article"] >= target else "time"
            time.sleep(self.rng.uniform(0, 0.15))
        elif trigger == "match":
            run.match_target = self.rng.randint(1, 4)
            if run.matches >= run.match_target:
                run.match_event.set()
            fired = "match" if _wait_event(run, run.match_event, deadline) else "time"
            time.sleep(self.rng.uniform(0, 0.05))
        else:
            with self._accept_lock:
                self.deliver_target = accepted_before + self.rng.randint(1, 5)
                if self._accepted >= self.deliver_target:
                    self.deliver_event.set()
            fired = "deliver" if _wait_event(run, self.deliver_event, deadline) else "time"
            time.sleep(self.rng.uniform(0, self.delay + 0.05))
        if run.proc.poll() is not None:
            self.result.rounds_finished_before_kill += 1
            run.finish()
            return
        kill_at = time.time()
        self.result.orphans.update(run.kill())
        self.result.kills[fired] += 1
        # Mid-send: a receiver accepted within the answer delay before the kill (no answer reached us).
        recent = [r for sink in (self.slack, self.hook, self.mail) for r in sink.snapshot()
                  if kill_at - self.delay <= r.at <= kill_at]
        self.result.kills_mid_send += bool(recent)

    def _settle(self) -> None:
        run = _Round(["run", "--stop-timeout", "10", "--config", str(self.config)], self.workdir, self.env, self.log)
        # SIGTERM before the daemon installed its handlers would just end it: wait until it is up.
        run.started.wait(timeout=30)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        last_change, last_total = time.monotonic(), -1
        while time.monotonic() < deadline and run.proc.poll() is None:
            total = sum(len(s.snapshot()) for s in (self.slack, self.hook, self.mail))
            if total != last_total:
                last_total, last_change = total, time.monotonic()
            if self._all_in() or time.monotonic() - last_change > QUIET_SECONDS:
                break
            time.sleep(0.2)
        code = run.stop()
        if code != 0:
            self.result.error = f"settling daemon exited with {code}"
        # Rows whose send was cut off by a kill are leased for 5 min; drain with the clock past the lease,
        # one more minute each pass, so retries after a failed call (backoff from that clock) fall due too.
        for step in range(20):
            if self._pending() == 0:
                break
            before = sum(len(s.snapshot()) for s in (self.slack, self.hook, self.mail))
            _deliver_after_lease(self.config, self.env, self.workdir, 5 + 60 * step)
            self.result.lease_expiry_delivered += sum(len(s.snapshot()) for s in (self.slack, self.hook,
                                                                                   self.mail)) - before

    def _pending(self) -> int:
        with contextlib.closing(sqlite3.connect(self.workdir / "newswatch.db", timeout=30)) as db:
            return int(db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0])

    def _expected(self) -> set[tuple[str, str]]:
        return {(t, f"/news/{s.slug}") for s in self.stories if s.matching for t in TARGETS}

    def _received(self) -> dict[str, list[tuple[str, str | None]]]:
        """target → [(story path, idempotency key)] for every accepted alert."""
        out: dict[str, list[tuple[str, str | None]]] = {t: [] for t in TARGETS}
        for target, sink in (("slack-analysts", self.slack), ("webhook-archive", self.hook)):
            for r in sink.snapshot():
                paths = alert_paths(r.body) if target == "slack-analysts" else \
                    alert_paths(json.loads(r.body)["story"]["url"].encode())
                out[target] += [(self.syndicated.get(p, p), r.key) for p in paths] or [("?", r.key)]
        for r in self.mail.snapshot():
            out["email-analysts"] += [(self.syndicated.get(p, p), r.key) for p in _mail_paths(r.body)] or \
                [("?", r.key)]
        return out

    def _all_in(self) -> bool:
        got = {(t, p) for t, items in self._received().items() for p, _ in items}
        return self._expected() <= got

    # -- counting ----------------------------------------------------------------------------
    def _count(self) -> None:
        r = self.result
        expected = self._expected()
        received = self._received()
        r.expected = len(expected)
        for target, path in sorted(expected):
            deliveries = [key for p, key in received[target] if p == path]
            if not deliveries:
                r.lost.append(f"{target} {path}")
                continue
            r.delivered += 1
            if len(deliveries) > 1:
                r.duplicated[f"{target} {path}"] = len(deliveries)
                if target != "slack-analysts" and len(set(deliveries)) != 1:
                    r.duplicate_key_violations.append(f"{target} {path}: keys {sorted(map(str, deliveries))}")
        for target, items in received.items():
            r.unexpected += [f"{target} {p}" for p, _ in items if (target, p) not in expected]
        with contextlib.closing(sqlite3.connect(self.workdir / "newswatch.db", timeout=30)) as db:
            # One outbox row per story and target: a duplicate is a re-send of that row, never a second row.
            for target, story, rows in db.execute(
                "SELECT target, story_id, count(*) FROM outbox WHERE kind = 'alert' GROUP BY target, story_id "
                "HAVING count(*) > 1"
            ):
                r.duplicate_key_violations.append(f"{target} story {story}: {rows} outbox rows")
            r.dead_letters = int(db.execute("SELECT count(*) FROM outbox WHERE status = 'dead'").fetchone()[0])
            r.still_pending = int(db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0])
        r.tracebacks = self.log.read_text(encoding="utf-8", errors="replace").count("Traceback")


def _sleep_until(run: _Round, moment: float) -> None:
    while time.monotonic() < moment and run.proc.poll() is None:
        time.sleep(0.01)


def _wait_event(run: _Round, event: threading.Event, deadline: float) -> bool:
    while time.monotonic() < deadline and run.proc.poll() is None:
        if event.wait(0.01):
            return True
    return event.is_set()


_LEASE_PASS = """
import sys
from datetime import timedelta
from alerts.delivery.worker import LEASE
from crawler.timeutil import now_utc
from scheduler.config import load_config
from scheduler.tasks import deliver_pending
report = deliver_pending(load_config(sys.argv[1]), now=now_utc() + LEASE + timedelta(seconds=float(sys.argv[2])))
print(report)
"""


def _deliver_after_lease(config: Path, env: dict[str, str], workdir: Path, extra: float) -> None:
    subprocess.run([sys.executable, "-c", _LEASE_PASS, str(config), str(extra)], cwd=workdir, env=env, timeout=60,
                   capture_output=True, check=False)


def run_trials(trials: int, seed: int = 1, jobs: int = 1, base: Path | None = None, progress: bool = True,
               matching: int = 8, calm: int = 4, kills: tuple[int, int] = (2, 4)) -> list[TrialResult]:
    """Run `trials` independent trials (`jobs` at a time) and return their counts.

    Args:
        matching: matching stories per trial (each alerts three targets); calm: stories that must not.
        kills: the least and most SIGKILLed runs per trial.
    """
    with contextlib.ExitStack() as stack:
        root = base or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nw-kill-")))

        def one(number: int) -> TrialResult:
            workdir = root / f"trial-{number:03d}"
            workdir.mkdir(parents=True, exist_ok=True)
            result = Trial(number, seed, workdir, matching, calm, kills).run()
            if progress:
                print(f"trial {number:3d}: {result.delivered}/{result.expected} delivered, {len(result.lost)} lost, "
                      f"{sum(v - 1 for v in result.duplicated.values())} duplicate sends, kills "
                      f"{dict(result.kills)}, {result.seconds:.0f} s"
                      + (f", ERROR {result.error}" if result.error else ""), flush=True)
            return result

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(one, range(1, trials + 1)))


def summarize(results: list[TrialResult]) -> dict[str, object]:
    """The totals over all trials."""
    kills: Counter[str] = Counter()
    for r in results:
        kills.update(r.kills)
    return {
        "trials": len(results),
        "kills": sum(kills.values()),
        "kills_by_trigger": dict(kills),
        "kills_mid_send": sum(r.kills_mid_send for r in results),
        "rounds_finished_before_kill": sum(r.rounds_finished_before_kill for r in results),
        "expected": sum(r.expected for r in results),
        "delivered": sum(r.delivered for r in results),
        "lost": sum(len(r.lost) for r in results),
        "duplicated_alerts": sum(len(r.duplicated) for r in results),
        "duplicate_sends": sum(v - 1 for r in results for v in r.duplicated.values()),
        "duplicates_by_target": dict(Counter(k.split()[0] for r in results for k in r.duplicated)),
        "duplicate_key_violations": sum(len(r.duplicate_key_violations) for r in results),
        "unexpected": sum(len(r.unexpected) for r in results),
        "delivered_after_lease_expiry": sum(r.lease_expiry_delivered for r in results),
        "dead_letters": sum(r.dead_letters for r in results),
        "still_pending": sum(r.still_pending for r in results),
        "orphaned_processes": sum(sum(r.orphans.values()) for r in results),
        "orphans_by_kind": dict(sum((r.orphans for r in results), Counter())),
        "tracebacks_in_logs": sum(r.tracebacks for r in results),
        "harness_errors": sum(1 for r in results if r.error),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2, help="trials run at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep each trial's database and log here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = run_trials(args.trials, args.seed, args.jobs, args.workdir)
    totals = summarize(results)
    print()
    print(f"kill test: {totals['trials']} trials, {totals['kills']} SIGKILLs {totals['kills_by_trigger']}, "
          f"{totals['kills_mid_send']} with a send in flight, {totals['rounds_finished_before_kill']} runs "
          f"finished before their kill, {time.monotonic() - started:.0f} s")
    print(f"alerts (story x target): expected {totals['expected']}, delivered {totals['delivered']}, "
          f"lost {totals['lost']}, duplicated {totals['duplicated_alerts']} "
          f"({totals['duplicate_sends']} extra sends; by target {totals['duplicates_by_target']})")
    print(f"duplicates under another idempotency key or outbox row: {totals['duplicate_key_violations']}; "
          f"unexpected alerts: {totals['unexpected']}; dead-lettered: {totals['dead_letters']}; "
          f"outbox rows still pending at the end: {totals['still_pending']}")
    print(f"delivered only after the 5-min lease of a killed send expired: {totals['delivered_after_lease_expiry']}")
    print(f"child processes still running 3 s after a kill: {totals['orphaned_processes']} "
          f"{totals['orphans_by_kind']}; tracebacks in logs: "
          f"{totals['tracebacks_in_logs']}; harness errors: {totals['harness_errors']}")
    for r in results:
        for line in r.lost + r.duplicate_key_violations + r.unexpected + ([r.error] if r.error else []):
            print(f"  trial {r.trial}: {line}")
    ok = totals["lost"] == 0 and totals["duplicate_key_violations"] == 0 and totals["harness_errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
