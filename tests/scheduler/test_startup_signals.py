"""A stop at any moment of `newswatch run`'s start-up is a clean exit 0, never 143 or a traceback.

The daemon spends seconds importing Scrapy, Twisted and friends before it can run its own signal
handling; the console script (`scheduler.entry`) catches SIGTERM/SIGINT before those imports. Each
case starts the real console script and signals it at an observable point of its start-up.

A signal that lands while the Python interpreter itself is still booting (before any of our code
runs, tens of milliseconds) still ends the process as the signal's default says: no Python program
can catch it then. So "immediately" here means: as soon as the process catches SIGTERM, which the
kernel reports in /proc/<pid>/status.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e_site import RunningDaemon, rss_feed, target_env, write_config
from tests.loopback import LoopbackHTTPServer
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent.parent


def _catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler installed for `signum` (the SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def _has_loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _handlers_installed(daemon: RunningDaemon) -> None:
    wait_until(lambda: _catches(daemon.process.pid, signal.SIGTERM) or daemon.process.poll() is not None,
               "the console script to install its SIGTERM handler")


def _importing_scrapy(daemon: RunningDaemon) -> None:
    wait_until(lambda: _has_loaded(daemon.process.pid, "lxml") or daemon.process.poll() is not None,
               "the process to load lxml (Scrapy's parser) while importing")


def _first_log_line(daemon: RunningDaemon) -> None:
    wait_until(lambda: daemon.lines or daemon.process.poll() is not None, "the first log line")


def _started(daemon: RunningDaemon) -> None:
    daemon.wait_for_line("newswatch started")


POINTS: dict[str, Callable[[RunningDaemon], None]] = {
    "handlers-installed": _handlers_installed,
    "importing-scrapy": _importing_scrapy,
    "first-log-line": _first_log_line,
    "started": _started,
}


@pytest.mark.parametrize(("point", "signum"), [
    ("handlers-installed", signal.SIGTERM),
    ("handlers-installed", signal.SIGINT),
    ("importing-scrapy", signal.SIGTERM),
    ("first-log-line", signal.SIGTERM),
    ("first-log-line", signal.SIGINT),
    ("started", signal.SIGINT),
])
def test_a_stop_during_start_up_exits_0_without_a_traceback(
    point: str, signum: int, site: LoopbackHTTPServer, tmp_path: Path
) -> None:
    site.add("/feed.xml", rss_feed(site, []), content_type="application/rss+xml")
    config = write_config(tmp_path / "config.yaml", site.url("/feed.xml"), every="1h")
    env = target_env("http://127.0.0.1:9/none", "http://127.0.0.1:9/none", "127.0.0.1", 9)
    with RunningDaemon(config, tmp_path, env) as daemon:
        POINTS[point](daemon)
        assert daemon.process.poll() is None, f"the daemon exited by itself:\n{daemon.stderr}"
        err = daemon.stop(signum)  # asserts exit code 0 and no traceback
    assert "KeyboardInterrupt" not in err
    if point in ("handlers-installed", "importing-scrapy"):
        # The stop came before the daemon was built: it starts nothing at all.
        assert "newswatch started" not in err
        assert site.requests_to("/feed.xml") == []


def test_the_console_script_entry_imports_nothing_heavy() -> None:
    code = ("import sys, scheduler.entry; heavy = {'scrapy', 'twisted', 'pydantic', 'click', 'crawler', 'alerts'}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", "the entry module must catch signals before the slow imports"
