"""One daemon per database: a second `newswatch run` (or a `crawl --once`) on a database a daemon is using
exits non-zero naming the database and the pid; a SIGKILLed daemon leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from scheduler.errors import LockedError
from scheduler.lock import DatabaseLock
from tests.e2e_site import NEWSWATCH, rss_feed, run_newswatch, wait_for
from tests.loopback import LoopbackHTTPServer


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}


def _start(config: Path, cwd: Path, log: Path) -> subprocess.Popen[str]:
    with log.open("w", encoding="utf-8") as stderr:  # a file, not a pipe: a long-running daemon never blocks
        return subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], cwd=cwd, env=_env(), text=True,
                                stdout=subprocess.DEVNULL, stderr=stderr)


def test_the_lock_names_its_holder_and_is_free_again_after_release(tmp_path: Path) -> None:
    database = tmp_path / "nw.db"
    first = DatabaseLock(database)
    first.acquire()
    with pytest.raises(LockedError) as refused:
        DatabaseLock(database).acquire()
    assert refused.value.pid == os.getpid()
    assert str(database) in str(refused.value) and f"pid {os.getpid()}" in str(refused.value)
    first.release()
    with DatabaseLock(database):
        pass


def test_second_daemon_and_crawl_once_are_refused_and_sigkill_leaves_no_stale_lock(
    site: LoopbackHTTPServer, tmp_path: Path
) -> None:
    site.add("/feed.xml", rss_feed(site, []), content_type="application/rss+xml")
    config = tmp_path / "config.yaml"
    config.write_text(f"database: nw.db\nsources:\n  - {{name: post, kind: feed, url: '{site.url('/feed.xml')}', "
                      "every: 1s}\n", encoding="utf-8")
    first = _start(config, tmp_path, tmp_path / "first.log")
    second: subprocess.Popen[str] | None = None
    third: subprocess.Popen[str] | None = None
    try:
        assert wait_for(lambda: len(site.requests_to("/feed.xml")) >= 1, timeout=90), "the first daemon crawls"

        second = _start(config, tmp_path, tmp_path / "second.log")
        second.wait(timeout=90)
        err = (tmp_path / "second.log").read_text(encoding="utf-8")
        assert second.returncode == 1, err
        assert f"database {tmp_path / 'nw.db'} is in use" in err and f"pid {first.pid}" in err
        assert "Traceback" not in err

        once = run_newswatch(["crawl", "--once", "--config", str(config)], _env(), tmp_path)
        assert once.returncode == 1 and f"pid {first.pid}" in once.stderr, once.stderr
        run_once = run_newswatch(["run", "--once", "--config", str(config)], _env(), tmp_path)
        assert run_once.returncode == 1 and f"pid {first.pid}" in run_once.stderr, run_once.stderr
        assert "Traceback" not in once.stderr + run_once.stderr
        assert first.poll() is None, "the first daemon kept running"

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        crawled = len(site.requests_to("/feed.xml"))
        third = _start(config, tmp_path, tmp_path / "third.log")
        assert wait_for(lambda: len(site.requests_to("/feed.xml")) > crawled, timeout=90), "a new daemon starts"
        assert third.poll() is None
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=60)
        assert third.returncode == 0, (tmp_path / "third.log").read_text(encoding="utf-8")
    finally:
        for process in (first, second, third):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
