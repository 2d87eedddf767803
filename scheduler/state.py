"""What the running daemon tells other processes: its heartbeat and each job's next run.

`newswatch status` runs in another process than the daemon, so the daemon writes a small table
(`daemon_jobs`) every few seconds; status reads it and says whether a daemon is alive and when
each source is crawled next. The table is created by the scheduler's migration (`scheduler.schema`).
Settings read: none (the caller passes the database connection).

A daemon killed with SIGKILL (or by the OOM killer, or a power cut) cannot clear its row, so the row
alone does not prove a daemon runs: `daemon_liveness()` also checks that the heartbeat is recent (the
daemon stamps it every `jobs.HEARTBEAT_SECONDS`) and that the process id still exists, when the
daemon ran on this host (the row names the host: a pid from another container means nothing here).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlite_utils

from crawler.timeutil import iso, now_utc, parse_iso, utc_now

DAEMON_ROW = "_daemon"
# A heartbeat older than this means the daemon is gone or stuck (it beats every few seconds, in a
# thread of its own; a write of another thread or process holding SQLite's lock can delay a beat,
# hence the margin).
STALE_AFTER_SECONDS = 30.0


def publish_jobs(db: sqlite_utils.Database, jobs: Iterable[tuple[str, str, datetime | None]],
                 started_at: datetime) -> None:
    """Replace the job list with `jobs` (id, name, next run) and stamp the daemon's heartbeat.

    `db` is the store opened with `scheduler.schema.open_store()` (which creates the table).
    """
    now = utc_now()
    rows = [(job_id, name, iso(when) if when else None, now) for job_id, name, when in jobs]
    process = f"pid {os.getpid()} on {socket.gethostname()} since {iso(started_at)}"
    rows.append((DAEMON_ROW, process, None, now))
    with db.conn:
        db.conn.execute("DELETE FROM daemon_jobs")
        db.conn.executemany("INSERT INTO daemon_jobs (id, name, next_run, updated_at) VALUES (?, ?, ?, ?)", rows)


def clear_jobs(db: sqlite_utils.Database) -> None:
    """The daemon stopped: nothing is scheduled any more."""
    with db.conn:
        db.conn.execute("DELETE FROM daemon_jobs")


def read_jobs(db: sqlite_utils.Database) -> dict[str, Any]:
    """`{"daemon": {...} | None, "jobs": {id: next_run}}` as the daemon last published them (read only)."""
    if "daemon_jobs" not in db.table_names():
        return {"daemon": None, "jobs": {}}
    rows = {row["id"]: row for row in db.query("SELECT * FROM daemon_jobs")}
    daemon = rows.pop(DAEMON_ROW, None)
    return {
        "daemon": {"process": daemon["name"], "heartbeat": daemon["updated_at"]} if daemon else None,
        "jobs": {job_id: row["next_run"] for job_id, row in sorted(rows.items())},
    }


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def daemon_liveness(daemon: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any]:
    """Whether the daemon that published `daemon` (from `read_jobs`) still runs, and why not.

    Args:
        daemon: `read_jobs(db)["daemon"]`.
        now: the current time (default: now, UTC).

    Returns:
        `{"running": bool, "pid": int | None, "heartbeat_age": seconds | None, "why": str}`; `why`
        says what was seen (no daemon row, pid gone, heartbeat stale, or alive).
    """
    if daemon is None:
        return {"running": False, "pid": None, "heartbeat_age": None, "why": "no daemon has published a heartbeat"}
    match = re.match(r"pid (\d+)(?: on (\S+))?", daemon.get("process") or "")
    pid = int(match.group(1)) if match else None
    # A pid means something only on the host (or container) that wrote it; elsewhere the heartbeat decides.
    local = match is not None and match.group(2) in (None, socket.gethostname())
    beat = parse_iso(daemon["heartbeat"])
    age = max(0.0, ((now or now_utc()) - beat).total_seconds())
    if pid is not None and local and not _pid_exists(pid):
        why = f"pid {pid} is gone (killed or crashed); last heartbeat {daemon['heartbeat']}, {age:.0f} s ago"
        return {"running": False, "pid": pid, "heartbeat_age": age, "why": why}
    if age > STALE_AFTER_SECONDS:
        why = (f"heartbeat stale: last {daemon['heartbeat']}, {age:.0f} s ago (over {STALE_AFTER_SECONDS:.0f} s); "
               + (f"pid {pid} exists but is not beating (hung?)" if local else "it ran on another host"))
        return {"running": False, "pid": pid, "heartbeat_age": age, "why": why}
    return {"running": True, "pid": pid, "heartbeat_age": age, "why": f"heartbeat {age:.0f} s ago"}
