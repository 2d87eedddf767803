"""A SIGKILLed daemon leaves no extraction workers behind (found by bench/kill_test.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import TIMEOUT, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent

OWNER = r"""
import asyncio, sys, time
from crawler.pool import extract_in_pool

async def main():
    await extract_in_pool(2, b"<html><body><p>A short test article body with some words.</p></body></html>",
                          "http://127.0.0.1/a")
    print("ready", flush=True)
    time.sleep(120)

asyncio.run(main())
"""


def _session_members(sid: int) -> list[int]:
    out = subprocess.run(["ps", "-s", str(sid), "-o", "pid="], capture_output=True, text=True, check=False)
    return [int(pid) for pid in out.stdout.split()]


def test_workers_exit_when_their_owner_is_killed() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
        assert len(_session_members(owner.pid)) >= 3, "the owner, its workers and helpers are running"
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=TIMEOUT)
        wait_for(lambda: not _session_members(owner.pid))
        left = _session_members(owner.pid)
        assert left == [], f"orphaned processes: {left}"
    finally:
        for pid in _session_members(owner.pid):
            os.kill(pid, signal.SIGKILL)
        if owner.stdout is not None:
            owner.stdout.close()
