"""What `newswatch status` shows about the workers: who is alive, what each is crawling, how batches went.

Live workers come from their heartbeats in Redis (`engine.live_workers`); batches from the brain's
ledger in the database (read only). When Redis does not answer, the report says so instead of failing
the whole status. Settings read: `Config.workers`.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import sqlite_utils

from scheduler.workers import engine
from scheduler.workers.ledger import recent_batches

__all__ = ["format_workers", "workers_report"]


def workers_report(config: Any, db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The workers part of `status_report()`, or None when `workers:` is off.

    Returns:
        `{"engine", "live": {name: {...beat, batch, done, failed, open_batch, batches}}, "gone": [...],
        "open_batches": [...], "batches": {state: count}, "error": str | None}`.
    """
    settings = config.workers
    if not settings.enabled:
        return None
    recent = recent_batches(db, limit=500)
    report: dict[str, Any] = {"engine": f"rq on {settings.shown_url}", "live": {}, "gone": [], "error": None,
                              "batches": dict(Counter(b.state for b in recent)), "open_batches": []}
    now = time.time()
    for batch in recent:
        if batch.state == "leased":
            report["open_batches"].append({"id": batch.id, "worker": batch.worker, "sources": len(batch.sources),
                                           "sites": list(batch.sites),
                                           "lease_left_seconds": round(batch.leased_until - now, 1)})
    try:
        conn = engine.connect(settings.redis_url)
        try:
            live = engine.live_workers(conn)
        finally:
            conn.close()
    except Exception as exc:  # status must still show the rest
        report["error"] = f"Redis at {settings.shown_url} does not answer: {type(exc).__name__}"
        live = {}
    per_worker = Counter(b.worker for b in recent if b.state in ("done", "late"))
    for name, info in sorted(live.items()):
        opened = [b["id"] for b in report["open_batches"] if b["worker"] == name]
        report["live"][name] = {**info, "open_batch": opened[0] if opened else None,
                                "batches_stored": per_worker.get(name, 0)}
    report["gone"] = sorted({b.worker for b in recent} - set(live))
    return report


def format_workers(report: dict[str, Any]) -> str:
    """The workers report as `newswatch status` prints it (one line per worker, then the batches)."""
    lines = [f"workers: {report['engine']}"]
    if report["error"]:
        lines.append(f"  PROBLEM: {report['error']}")
    for name, info in report["live"].items():
        doing = f"crawling batch {info['open_batch']}" if info["open_batch"] else "idle"
        lines.append(f"  {name:<28} alive (beat {info.get('beat')}, pid {info.get('pid')} on {info.get('host')}); "
                     f"{doing}; {info['batches_stored']} batches stored, {info.get('failed', 0)} jobs failed")
    for name in report["gone"]:
        lines.append(f"  {name:<28} gone (no heartbeat)")
    if not report["live"]:
        lines.append("  no worker alive: due sources wait; start one with `newswatch worker`")
    for batch in report["open_batches"]:
        lines.append(f"  batch {batch['id']} on {batch['worker']}: {batch['sources']} sources "
                     f"({', '.join(batch['sites'])}), lease ends in {batch['lease_left_seconds']:.0f}s")
    counts = ", ".join(f"{state} {n}" for state, n in sorted(report["batches"].items()))
    lines.append(f"  recent batches: {counts or 'none'}")
    return "\n".join(lines)
