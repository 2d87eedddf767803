"""The `newswatch worker` process: an RQ worker on this worker's queue, plus its heartbeat.

It reads the same config.yaml as the brain (sources, crawl options, `workers:`), connects to
`workers.redis_url`, and runs RQ's forking worker on the queue `newswatch.<name>`; each batch runs in a
fresh work-horse process (`scheduler.workers.job`). A thread beats every `workers.heartbeat` seconds
with what the worker does (`scheduler.workers.engine.beat`); the brain gives batches only to workers
whose beat is fresh. SIGTERM/SIGINT: RQ's warm shutdown (the running batch finishes first; a second
signal stops at once, and the brain's lease covers the rest).
Settings read: `workers.redis_url`, `.heartbeat_seconds`, `log_level`; the worker name (CLI).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from scheduler.workers import job
from scheduler.workers.engine import beat, connect, queue_name, worker_key

logger = logging.getLogger(__name__)

__all__ = ["default_name", "run_worker"]


def default_name() -> str:
    """The worker's name when none is given: the host name (one worker per machine or container)."""
    return socket.gethostname()


def _info(worker: Any, name: str, started: str) -> dict[str, Any]:
    try:
        current = worker.get_current_job_id()
    except Exception:  # a beat must never die of a read
        current = None
    return {"name": name, "host": socket.gethostname(), "pid": os.getpid(), "started": started,
            "beat": datetime.now(UTC).isoformat(timespec="seconds"), "batch": current,
            "done": int(getattr(worker, "successful_job_count", 0) or 0),
            "failed": int(getattr(worker, "failed_job_count", 0) or 0)}


def run_worker(config: Any, name: str | None = None, burst: bool = False) -> int:
    """Run a worker until stopped (or, with `burst`, until its queue is empty).

    Args:
        config: the loaded `Config` (its `workers.redis_url` must reach the brain's Redis).
        name: the worker's name (default: the host name); unique among running workers.
        burst: stop when the queue is empty (tests, one-off drains).

    Returns:
        The exit code (0).

    Raises:
        ConnectionError: Redis does not answer (the message names the URL without its password).
    """
    import redis
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer

    settings = config.workers
    name = name or default_name()
    conn = connect(settings.redis_url)
    try:
        conn.ping()
    except redis.RedisError as exc:
        raise ConnectionError(f"worker {name}: Redis at {settings.shown_url} does not answer ({exc}); "
                              "check workers.redis_url and that Redis runs") from None
    job.configure(config, name)
    queue = Queue(queue_name(name), connection=conn, serializer=JSONSerializer)
    # RQ's own worker name must be unique among its live workers: a restart gets a new one.
    worker = Worker([queue], name=f"{name}.{os.getpid()}", connection=conn, serializer=JSONSerializer,
                    job_monitoring_interval=max(1, settings.heartbeat_seconds))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    stop = threading.Event()

    def _beat_loop() -> None:
        while not stop.is_set():
            try:
                beat(conn, name, _info(worker, name, started), settings.heartbeat_seconds)
            except Exception:
                logger.warning("worker %s: heartbeat to Redis failed; retrying", name, exc_info=True)
            stop.wait(settings.heartbeat_seconds)

    beat(conn, name, _info(worker, name, started), settings.heartbeat_seconds)
    heart = threading.Thread(target=_beat_loop, name="newswatch-heartbeat", daemon=True)
    heart.start()
    logger.info("worker %s reading queue %s on %s", name, queue.name, settings.shown_url)
    try:
        worker.work(burst=burst, logging_level=config.log_level, with_scheduler=False)
    finally:
        stop.set()
        heart.join(timeout=5)
        conn.delete(worker_key(name))
        logger.info("worker %s stopped", name)
    return 0
