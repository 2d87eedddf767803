"""Crawling on workers (issue 15): end-to-end articles/s of the single daemon, the brain + 1 worker and
the brain + 2 workers, on one loopback news site of many hosts; and what the brain costs per article.

Usage: .venv/bin/python bench/bench_workers.py [--hosts 8] [--articles 240] [--batch-size 8] [--seed 1]

Each case starts from an empty database with every process up and idle (the daemon or brain has
logged its start, the workers beat in Redis), then publishes all stories at once across the feeds
(two per host) and times until every article is stored and every matching story has reached the
loopback webhook: fetch, extraction, store, matching and delivery, end to end. Feeds are polled every
2 s in every case. Processes are pinned with `taskset` to one core each: the single daemon to core 0;
each worker to its own core (worker i to core i mod cores); the brain is not pinned (on a 2-core
machine the brain shares a core with a worker in the two-worker case — said in the output).

The brain's own cost is its process's CPU time (user + system, from /proc) over the run divided by the
articles: that is ingest (the SQLite writer), matching, stories and delivery. A last, in-process
measurement times `crawler.handoff.ingest_bundle()` alone on the run's real articles, in bundles of 20,
into a fresh SQLite file: the writer's ceiling. Counts are asserted (each article stored once, each
matching story alerted once). Needs redis-server; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._loopback_news import AlertSink, StoryFactory  # noqa: E402
from tests.waiting import wait_until  # noqa: E402
from tests.workers_world import ManyHostSite, Proc, RedisServer, webhook_env, write_config  # noqa: E402

CORES = os.cpu_count() or 1


@dataclass
class Case:
    label: str
    seconds: float
    articles: int
    alerts: int
    brain_cpu: float  # CPU seconds of the daemon/brain process tree
    worker_cpu: float  # CPU seconds of all worker process trees (work-horses and extraction included)

    @property
    def rate(self) -> float:
        return self.articles / self.seconds


def _cpu_seconds(proc: Proc) -> float:
    """CPU time of a process tree: every live process's own time plus what it reaped from its children."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in proc.tree():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks  # utime, stime, cutime, cstime
    return total


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def run_case(label: str, workers: int, stories: list, hosts: int, redis_binary: str | None,
             folder: Path, batch_size: int = 8) -> Case:
    folder.mkdir(parents=True)
    redis = RedisServer(redis_binary) if workers else None
    procs: list[Proc] = []
    try:
        with ManyHostSite(hosts=hosts, feeds_per_host=2) as site, AlertSink() as sink:
            config = write_config(folder / "config.yaml", site.feed_urls(), redis.url if redis else None,
                                  per_host=4, lease="5m", batch_size=batch_size, extraction_workers=1)
            env = webhook_env(sink.url("/hook"))
            db = folder / "newswatch.db"
            pin = [] if workers else ["taskset", "-c", "0"]
            brain = Proc(["run", "--config", str(config)], folder, env, folder / "brain.log", prefix=pin)
            procs.append(brain)
            for i in range(workers):
                procs.append(Proc(["worker", "--config", str(config), "--name", f"w{i + 1}"], folder, env,
                                  folder / f"w{i + 1}.log", prefix=["taskset", "-c", str((i + 1) % CORES)]))

            def logs() -> str:
                return "\n".join(f"--- {p.log_path.name}\n{p.log[-2000:]}" for p in procs)

            wait_until(lambda: "newswatch started" in brain.log, "the daemon started", detail=logs)
            if redis is not None:
                wait_until(lambda: len(list(redis.client.scan_iter(match="newswatch:worker:*"))) == workers,
                           "the workers beating", detail=logs)
            wait_until(lambda: _count(db, "SELECT COUNT(*) FROM sources") == len(site.sources),
                       "every (empty) feed polled once", detail=logs)
            names = sorted(site.sources)
            matching = set()
            cpu0, t0 = [_cpu_seconds(p) for p in procs], time.monotonic()
            for i, story in enumerate(stories):
                url = site.publish(names[i % len(names)], story)
                if story.matching:
                    matching.add(urlsplit(url).netloc + urlsplit(url).path)

            def alerted() -> list[str]:
                return [urlsplit(json.loads(r.body)["story"]["url"]).netloc
                        + urlsplit(json.loads(r.body)["story"]["url"]).path for r in sink.snapshot()]

            wait_until(lambda: _count(db, "SELECT COUNT(*) FROM articles") >= len(stories)
                       and set(alerted()) >= matching, f"{len(stories)} articles stored and alerted ({label})",
                       timeout=900, detail=logs)
            seconds = time.monotonic() - t0
            cpu = [_cpu_seconds(p) - before for p, before in zip(procs, cpu0, strict=True)]
            stored = _count(db, "SELECT COUNT(*) FROM articles")
            assert stored == len(stories), f"{label}: {stored} articles stored for {len(stories)} published"
            got = alerted()
            assert sorted(got) == sorted(matching), f"{label}: alerts lost or duplicated"
            return Case(label, seconds, stored, len(got), cpu[0], sum(cpu[1:]))
    finally:
        for proc in procs:
            proc.stop()
        if redis is not None:
            redis.close()


def batch_seconds(folder: Path) -> list[float]:
    """How long each batch took inside its work-horse (from the workers' logs)."""
    import re

    found: list[float] = []
    for log in folder.glob("w*.log"):
        found += [float(m) for m in re.findall(r"handed back \(\d+ sources, \d+ bytes, ([0-9.]+)s\)", log.read_text())]
    return found


def rq_overhead(binary: str, jobs: int = 40) -> float:
    """Seconds per empty job through RQ's forking worker (enqueue, fork a work-horse, run, record)."""
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer

    redis = RedisServer(binary)
    try:
        queue = Queue("bench", connection=redis.client, serializer=JSONSerializer)
        for _ in range(jobs):
            queue.enqueue_call("os.getpid", result_ttl=60)
        worker = Worker([queue], connection=redis.client, serializer=JSONSerializer)
        began = time.perf_counter()
        worker.work(burst=True, logging_level="WARNING")
        return (time.perf_counter() - began) / jobs
    finally:
        redis.close()


def writer_ceiling(source_db: Path, folder: Path, rounds: int = 5) -> tuple[float, int]:
    """articles/s of `ingest_bundle()` alone (bundles of 20 real articles) into a fresh store."""
    from crawler import open_store
    from crawler.handoff import ingest_bundle

    conn = sqlite3.connect(source_db)
    cursor = conn.execute("SELECT * FROM articles")
    columns = [d[0] for d in cursor.description]
    rows = [{k: v for k, v in zip(columns, row, strict=True) if k != "id"} for row in cursor]
    conn.close()
    db = open_store(folder / "writer.db")
    total, elapsed = 0, 0.0
    try:
        for round_ in range(rounds):
            for start in range(0, len(rows), 20):
                chunk = [{**r, "url": f"{r['url']}?round={round_}"} for r in rows[start:start + 20]]
                payload = {"version": 2, "articles": chunk, "seen": [], "sources": []}
                bundle = zlib.compress(json.dumps(payload).encode())
                began = time.perf_counter()
                ingest_bundle(db, bundle)
                elapsed += time.perf_counter() - began
                total += len(chunk)
    finally:
        db.close()
    return total / elapsed, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--articles", type=int, default=240)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8, help="workers.batch_size")
    args = parser.parse_args(argv)
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 2
    stories = StoryFactory(seed=args.seed).mix(args.articles // 4, args.articles - args.articles // 4)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        folder = Path(tmp)
        cases = [run_case("single daemon (1 core)", 0, stories, args.hosts, None, folder / "single"),
                 run_case("brain + 1 worker", 1, stories, args.hosts, binary, folder / "one", args.batch_size),
                 run_case("brain + 2 workers", 2, stories, args.hosts, binary, folder / "two", args.batch_size)]
        ceiling, written = writer_ceiling(folder / "two" / "newswatch.db", folder)
        batches = batch_seconds(folder / "one") + batch_seconds(folder / "two")
    per_job = rq_overhead(binary)
    base = cases[0].rate
    print(f"{args.articles} articles ({sum(s.matching for s in stories)} matching) on {args.hosts} hosts x 2 feeds, "
          f"{CORES} cores, load average {os.getloadavg()[0]:.1f} at the end (other work on the machine); "
          "end to end (fetch, extract, store, match, deliver):")
    for case in cases:
        print(f"  {case.label:<26} {case.rate:7.1f} articles/s  ({case.seconds:5.1f} s, x{case.rate / base:.2f} "
              f"the single daemon); CPU per article: daemon/brain {1000 * case.brain_cpu / case.articles:.2f} ms"
              + (f", workers {1000 * case.worker_cpu / case.articles:.2f} ms" if case.worker_cpu else ""))
    print(f"  two workers vs one: x{cases[2].rate / cases[1].rate:.2f}"
          + ("  (2 cores: the brain shares a core with a worker)" if CORES <= 2 else ""))
    brain_ms = 1000 * min(c.brain_cpu for c in cases[1:]) / cases[1].articles
    worker_ms = 1000 * min(c.worker_cpu for c in cases[1:]) / cases[1].articles
    single_ms = 1000 * cases[0].brain_cpu / cases[0].articles
    print("capacity on free cores (from CPU time, independent of the machine's load): the single daemon "
          f"{1000 / single_ms:.0f} articles/s per core; a worker {1000 / worker_ms:.0f} articles/s per core "
          f"(x{single_ms / worker_ms:.2f}), "
          "so N workers on N free cores ~ N times that, until the brain's ceiling below")
    per_worker = 1000 / worker_ms
    print(f"brain: {brain_ms:.2f} ms CPU per article (ingest + matching + stories + delivery) -> one brain core "
          f"feeds ~{1000 / brain_ms:.0f} articles/s, ~{1000 / brain_ms / per_worker:.0f} workers at "
          f"{per_worker:.0f} articles/s per worker core")
    if batches:
        print(f"batches: {len(batches)} of up to {args.batch_size} sources, {sum(batches) / len(batches):.1f} s each "
              f"on average inside the work-horse (fresh process, reactor, extraction pool, crawl)")
    print(f"RQ alone: {1000 * per_job:.0f} ms per empty job (enqueue, fork a work-horse, run, record)")
    print(f"SQLite writer alone (ingest_bundle, bundles of 20): {ceiling:.0f} articles/s over {written} articles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
