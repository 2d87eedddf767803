"""Redis and RQ, as the brain and the workers use them: queues, heartbeats and the results stream.

- Each worker reads its own RQ queue, `newswatch.<worker name>`: the brain chooses the worker (domain
  affinity), RQ carries the job and runs it in a fresh forked work-horse with the lease as its timeout
  (a Twisted reactor cannot restart, so one process per batch suits Scrapy). Jobs use RQ's JSON
  serializer, so nothing unpickles what another Redis client wrote.
- A worker beats every `heartbeat` seconds: key `newswatch:worker:<name>` (JSON: host, pid, current
  batch, counts) expiring after three beats, so a dead worker drops out of `live_workers()` by itself.
- Workers hand results back on the stream `newswatch:results`, read by the brain through the
  consumer group `brain`: an entry stays pending until the brain has stored it and acknowledged it
  (`ack`, which also deletes it), so a brain killed between reading and storing reads it again.
Settings read: `workers.redis_url`, `.lease_seconds`, `.heartbeat_seconds` (through the caller).
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["JOB_FUNCTION", "RESULTS", "ack", "add_result", "beat", "connect", "enqueue_batch", "live_workers",
           "queue_name", "read_results", "worker_key"]

RESULTS = "newswatch:results"
_GROUP = "brain"
_CONSUMER = "brain"  # one brain: a restarted brain is the same consumer and finds its pending entries
_WORKER_PREFIX = "newswatch:worker:"
JOB_FUNCTION = "scheduler.workers.job.run_batch"


def connect(url: str) -> Any:
    """A Redis client for `url` (`redis://`, `rediss://` or `unix://`); connects on first use."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=30, health_check_interval=30)


def queue_name(worker: str) -> str:
    """The RQ queue a worker reads."""
    return f"newswatch.{worker}"


def worker_key(worker: str) -> str:
    return _WORKER_PREFIX + worker


def beat(conn: Any, worker: str, info: dict[str, Any], heartbeat_seconds: float) -> None:
    """Say that `worker` is alive, with `info`, for three heartbeats."""
    conn.set(worker_key(worker), json.dumps(info), ex=max(1, int(3 * heartbeat_seconds)))


def live_workers(conn: Any) -> dict[str, dict[str, Any]]:
    """The workers whose heartbeat has not expired: name -> their last report."""
    keys = sorted(conn.scan_iter(match=_WORKER_PREFIX + "*", count=500))
    found: dict[str, dict[str, Any]] = {}
    for key, raw in zip(keys, conn.mget(keys) if keys else [], strict=True):
        if raw is None:
            continue  # expired between SCAN and MGET
        name = (key.decode() if isinstance(key, bytes) else key)[len(_WORKER_PREFIX):]
        found[name] = json.loads(raw)
    return found


def enqueue_batch(conn: Any, worker: str, batch_id: str, kwargs: dict[str, Any], timeout: int) -> None:
    """Put one batch job on `worker`'s queue (RQ job id = batch id)."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue(queue_name(worker), connection=conn, serializer=JSONSerializer)
    queue.enqueue_call(JOB_FUNCTION, kwargs=kwargs, timeout=timeout, job_id=batch_id,
                       result_ttl=3600, failure_ttl=86400, description=f"newswatch batch {batch_id}")


def add_result(conn: Any, batch_id: str, worker: str, bundle: bytes) -> str:
    """Hand a batch's bundle back to the brain (worker side). Returns the stream entry id."""
    entry = conn.xadd(RESULTS, {"batch": batch_id, "worker": worker, "bundle": bundle})
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def _ensure_group(conn: Any) -> None:
    import redis

    try:
        # From id 0: results a worker added before the group existed are read too.
        conn.xgroup_create(RESULTS, _GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read_results(conn: Any, block_ms: int, count: int = 10) -> list[tuple[str, dict[str, Any]]]:
    """The next results for the brain: first its own unacknowledged ones (after a restart), then new ones.

    Returns:
        (entry id, {"batch", "worker", "bundle"}) pairs; empty when none came within `block_ms`.
    """
    _ensure_group(conn)
    entries: list[tuple[str, dict[str, Any]]] = []
    for start, block in (("0", None), (">", block_ms)):
        reply = conn.xreadgroup(_GROUP, _CONSUMER, {RESULTS: start}, count=count, block=block)
        for _stream, messages in reply or ():
            for entry_id, fields in messages:
                if not fields:  # deleted while pending: nothing left to store
                    conn.xack(RESULTS, _GROUP, entry_id)
                    continue
                decoded = {k.decode(): v for k, v in fields.items()}
                entries.append((entry_id.decode(), {"batch": decoded["batch"].decode(),
                                                    "worker": decoded["worker"].decode(),
                                                    "bundle": decoded["bundle"]}))
        if entries:
            break
    return entries


def ack(conn: Any, entry_id: str) -> None:
    """The brain stored this result: acknowledge and delete it."""
    pipe = conn.pipeline()
    pipe.xack(RESULTS, _GROUP, entry_id)
    pipe.xdel(RESULTS, entry_id)
    pipe.execute()
