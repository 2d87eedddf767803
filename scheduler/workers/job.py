"""What a worker runs for one batch, inside RQ's work-horse (a fresh process forked per job).

`run_batch()` looks its sources up in the worker's own config.yaml (so credentials and headers never
travel through Redis: the job names sources, nothing more), crawls them with the ordinary crawler into
a scratch SQLite file (`crawler.handoff.crawl_to_bundle`) and adds the bundle to the results stream.

The lease is enforced here too: a batch whose lease already ran out is skipped (the brain has handed
its sources to another worker), and a watchdog kills the work-horse's process group (it and its
extraction processes) a few seconds before the lease ends, so by the time the brain dispatches the
sources again this worker has stopped touching the site: one worker per site at a time, even for a
stuck crawl. RQ's own job timeout (the lease) stays as a backstop. Clocks are assumed in sync (NTP).
Settings read: the worker's config (`sources`, `crawl`) as `scheduler.workers.worker` loaded it.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from crawler.handoff import crawl_to_bundle
from scheduler.workers.engine import add_result

logger = logging.getLogger(__name__)

__all__ = ["LEASE_MARGIN_SECONDS", "configure", "run_batch"]

LEASE_MARGIN_SECONDS = 5.0  # the work-horse is gone this long before the brain's lease ends
_state: dict[str, Any] = {}


def configure(config: Any, worker: str) -> None:
    """Remember the worker's config and name for the jobs it runs (before `Worker.work()` forks)."""
    _state.update(config=config, worker=worker, mtime=_mtime(config.path))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _config() -> Any:
    config = _state["config"]
    if _mtime(config.path) != _state.get("mtime"):  # config.yaml changed: this batch uses the new one
        from scheduler.config import load_config

        try:
            config = load_config(config.path)
        except Exception:
            logger.warning("config %s changed but does not load; this batch uses the one loaded before",
                           config.path, exc_info=True)
    return config


def _watchdog(seconds: float, batch_id: str) -> threading.Timer:
    def _kill() -> None:
        logger.error("batch %s still running at the end of its lease: stopping this work-horse", batch_id)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    timer = threading.Timer(max(0.0, seconds), _kill)
    timer.daemon = True
    timer.start()
    return timer


def run_batch(batch_id: str, sources: list[str], context: dict[str, Any], leased_until: float,
              lease_seconds: float) -> dict[str, Any]:
    """Crawl a batch and hand its bundle back (the RQ job function).

    Args:
        batch_id: the brain's id of the batch.
        sources: source names, looked up in this worker's config.
        context: `crawler.handoff.source_context()` from the brain.
        leased_until: epoch seconds when the brain's lease ends.
        lease_seconds: the lease's length (bounds the run when the clocks disagree).

    Returns:
        A summary (RQ keeps it as the job's result): counts, or why the batch was skipped.
    """
    from rq import get_current_job

    started = time.time()
    remaining = min(leased_until - started, lease_seconds) - LEASE_MARGIN_SECONDS
    if remaining <= 0:
        logger.warning("batch %s skipped: its lease ended before it started (the brain has re-dispatched it)",
                       batch_id)
        return {"batch": batch_id, "skipped": "lease expired before start"}
    watchdog = _watchdog(remaining, batch_id)
    config = _config()
    specs, missing = [], []
    for name in sources:
        try:
            specs.append(config.source(name))
        except KeyError:
            missing.append(name)
    if missing:
        logger.warning("batch %s: sources %s are not in this worker's %s; reload or restart the worker",
                       batch_id, ", ".join(missing), config.path)
    with tempfile.TemporaryDirectory(prefix="newswatch-batch-") as folder:
        bundle = crawl_to_bundle(specs, context, config.crawl, Path(folder) / "batch.db")
    job = get_current_job()
    assert job is not None, "run_batch runs inside an RQ job"
    entry = add_result(job.connection, batch_id, _state.get("worker", "?"), bundle)
    watchdog.cancel()
    logger.info("batch %s handed back (%d sources, %d bytes, %.1fs): %s", batch_id, len(specs), len(bundle),
                time.time() - started, entry)
    return {"batch": batch_id, "sources": len(specs), "missing": missing, "bytes": len(bundle),
            "seconds": round(time.time() - started, 3)}
