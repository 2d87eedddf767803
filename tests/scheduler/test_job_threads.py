"""The daemon's jobs keep apart in threads: a long prune or VACUUM never holds up matching or the heartbeat.

The maintenance thread is held busy by a callable the test controls (standing in for a VACUUM of a big
file: SQLite would also hold its write lock, which this cannot show); meanwhile a compaction job is queued
behind it, and a heartbeat and the match of a new article must still happen.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import sqlite_utils

from crawler import insert_article, open_store
from scheduler.config import Config, load_config
from scheduler.jobs import DeliverJob, MatchJob, Runtime, WatchJobs, housekeeping, matcher_for
from scheduler.state import read_jobs
from tests.waiting import TIMEOUT

CONFIG = """\
database: nw.db
targets:
  - {name: hook, kind: webhook, url: "http://127.0.0.1:9/none"}
watchlists:
  - name: ramen
    targets: [hook]
    rules:
      - {name: noodles, any: [ramen]}
sources:
  - {name: post, kind: feed, url: "http://127.0.0.1:9/feed.xml", every: 1h}
"""


def check_sources_once(config: Config) -> Runtime:
    """Run the daemon's source-health check once on a fresh Runtime, as the watch job does, and return it."""

    async def check() -> Runtime:
        rt = Runtime(config, matcher_for(config), None, asyncio.get_running_loop())
        try:
            await WatchJobs(rt, DeliverJob(rt), list).check_sources()
        finally:
            await asyncio.to_thread(rt.join_threads)
        return rt

    return asyncio.run(check())


def _matches(path: Path) -> int:
    db = sqlite_utils.Database(path)
    try:
        return db["matches"].count if "matches" in db.table_names() else 0
    finally:
        db.close()


def test_matching_and_heartbeat_run_while_maintenance_is_busy(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(CONFIG, encoding="utf-8")
    config = load_config(config_file)
    db = open_store(config.database)
    insert_article(db, {"url": "https://example.org/ramen", "source": "post", "title": "Ramen festival opens",
                       "text": "Forty ramen shops served noodles."})
    db.close()
    maintenance_busy, release = threading.Event(), threading.Event()

    def long_maintenance() -> None:  # stands for a VACUUM that takes minutes
        maintenance_busy.set()
        release.wait(TIMEOUT)

    async def scenario() -> tuple[bool, bool]:
        rt = Runtime(config, matcher_for(config), None, asyncio.get_running_loop())
        match = MatchJob(rt)
        watch = WatchJobs(rt, DeliverJob(rt), lambda: [("crawl:post", "crawl post", None)])
        try:
            busy = rt.loop.run_in_executor(rt.maintenance_thread, long_maintenance)
            await asyncio.to_thread(maintenance_busy.wait, TIMEOUT)
            compaction = asyncio.create_task(housekeeping(rt, vacuum=True))  # queued behind the long work
            await asyncio.wait_for(watch.heartbeat(), TIMEOUT)
            report = await asyncio.wait_for(match.run(), TIMEOUT)
            matched_meanwhile = report is not None and report.matched == 1
            compaction_waited = not compaction.done()
            release.set()
            await asyncio.wait_for(asyncio.gather(busy, compaction), TIMEOUT)
            return matched_meanwhile, compaction_waited
        finally:
            release.set()
            await asyncio.to_thread(rt.join_threads)

    matched_meanwhile, compaction_waited = asyncio.run(scenario())
    assert compaction_waited, "the compaction job queues behind the maintenance thread's work"
    assert matched_meanwhile, "the new article was matched while maintenance was busy"
    assert _matches(config.database) == 1
    db = open_store(config.database)
    try:
        published = read_jobs(db)
    finally:
        db.close()
    assert published["daemon"] is not None and "crawl:post" in published["jobs"], "the heartbeat was written"


def test_the_failure_gauge_shows_the_stores_count_of_a_configured_source(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(CONFIG, encoding="utf-8")
    config = load_config(config_file)
    db = open_store(config.database)
    # Failures counted by an earlier daemon run: the store keeps them, so the gauge shows them too.
    for name, failures in (("post", 3), ("removed-from-config", 5)):
        db.execute("INSERT INTO sources (name, url, kind, consecutive_failures) VALUES (?, ?, ?, ?)",
                   [name, "http://127.0.0.1:9/feed.xml", "feed", failures])
    db.conn.commit()
    db.close()

    metrics = check_sources_once(config).metrics
    assert metrics.value("newswatch_source_consecutive_failures", {"source": "post"}) == 3
    assert metrics.registry.get_sample_value("newswatch_source_consecutive_failures",
                                             {"source": "removed-from-config"}) is None


QUIET_CONFIG = CONFIG.replace("watchlists:", "operations: {targets: [hook]}\nwatchlists:")


def test_a_source_gone_quiet_raises_one_notice(tmp_path: Path) -> None:
    from crawler.timeutil import iso, now_utc
    from scheduler.schema import open_store as open_all

    config_file = tmp_path / "config.yaml"
    config_file.write_text(QUIET_CONFIG, encoding="utf-8")
    config = load_config(config_file)
    db = open_all(config.database)
    now = now_utc()
    # Four articles a day until three days ago (about one every 10 h over the week); fetches still succeed.
    for day in range(3, 7):
        for n in range(4):
            db["articles"].insert({"url": f"https://example.org/{day}/{n}", "source": "post", "title": "t",
                                   "fetched_at": iso(now - timedelta(days=day, hours=n))})
    db.execute("INSERT INTO sources (name, url, kind, consecutive_failures, last_attempt, last_success, "
               "last_status, last_new_article) VALUES (?, ?, ?, 0, ?, ?, 200, ?)",
               ["post", "http://127.0.0.1:9/feed.xml", "feed", iso(now), iso(now), iso(now - timedelta(days=3))])
    db.conn.commit()
    db.close()

    async def check_twice() -> None:
        rt = Runtime(config, matcher_for(config), None, asyncio.get_running_loop())
        try:
            watch = WatchJobs(rt, DeliverJob(rt), list)
            await watch.check_sources()
            await watch.check_sources()  # the next health check: the same silence, no second notice
        finally:
            await asyncio.to_thread(rt.join_threads)

    asyncio.run(check_twice())
    db = sqlite_utils.Database(config.database)
    try:
        notices = list(db.query("SELECT * FROM outbox WHERE kind = 'notice'"))
    finally:
        db.close()
    assert len(notices) == 1 and notices[0]["target"] == "hook"
