"""The daemon's jobs, each beside the library function it runs; `scheduler.service` only schedules them.

- `dispatch`: which sources are due; they are crawled together, in batches (adaptive intervals);
- `crawling`: crawl a batch of sources (`crawler.crawl_sources`), then match and deliver;
- `matching`: `alerts.process_new_articles`; `delivery`: `alerts.deliver_due`, `alerts.backfill_targets`;
- `watch`: heartbeat (`scheduler.state.publish_jobs`), source health check, operations notices;
- `housekeeping`: `scheduler.maintenance.prune` (and VACUUM) in a thread of its own;
- `runtime`: the state and worker threads they share.

Settings read: see each module.
"""

from __future__ import annotations

from scheduler.jobs.crawling import CrawlJob
from scheduler.jobs.delivery import DeliverJob, backfill
from scheduler.jobs.dispatch import Dispatcher, crawl_job_id
from scheduler.jobs.housekeeping import housekeeping
from scheduler.jobs.matching import MatchJob
from scheduler.jobs.runtime import Runtime, matcher_for
from scheduler.jobs.watch import HEALTH_CHECK_SECONDS, HEARTBEAT_SECONDS, WatchJobs, failing_too_long

__all__ = [
    "HEALTH_CHECK_SECONDS",
    "HEARTBEAT_SECONDS",
    "CrawlJob",
    "DeliverJob",
    "Dispatcher",
    "MatchJob",
    "Runtime",
    "WatchJobs",
    "backfill",
    "crawl_job_id",
    "failing_too_long",
    "housekeeping",
    "matcher_for",
]
