"""`newswatch status` tells the truth: a killed daemon is not running, a missing database is not created
by looking at it, and a read-only database is a problem, not `ok`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from scheduler.cli import main
from scheduler.schema import open_store
from scheduler.state import publish_jobs
from tests.e2e_site import NEWSWATCH, rss_feed, wait_for
from tests.loopback import LoopbackHTTPServer


def _config(tmp_path: Path, feed_url: str = "http://127.0.0.1:9/feed.xml") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database: data/nw.db\nsources:\n  - {{name: post, kind: feed, url: '{feed_url}', every: 1h}}\n"
                    "watchlists:\n  - {name: noodles, rules: [{any: [ramen]}]}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["stories"],
                                     ["backtest", "--watchlist", "noodles"]])
def test_read_only_commands_do_not_create_a_database(tmp_path: Path, command: list[str]) -> None:
    config = _config(tmp_path)
    result = CliRunner().invoke(main, [*command, "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert f"no database yet at {tmp_path / 'data' / 'nw.db'}" in result.output
    assert not (tmp_path / "data").exists()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[list[Path]]:
    changed: list[Path] = []
    yield changed
    for path in changed:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_status_reports_a_read_only_database_as_a_problem(tmp_path: Path, read_only: list[Path], what: str) -> None:
    config = _config(tmp_path)
    open_store(tmp_path / "data" / "nw.db").close()
    assert CliRunner().invoke(main, ["status", "--config", str(config)]).exit_code == 0
    target = tmp_path / "data" / "nw.db" if what == "file" else tmp_path / "data"
    target.chmod(0o444 if what == "file" else 0o555)
    read_only.append(target)
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "PROBLEM:" in result.output and str(target) in result.output
    data = json.loads(CliRunner().invoke(main, ["status", "--json", "--config", str(config)]).output)
    assert data["problems"] and str(target) in data["problems"][0]


def test_a_stale_heartbeat_is_not_a_running_daemon(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = open_store(tmp_path / "data" / "nw.db")
    # This test's own pid exists; only the heartbeat's age can tell the daemon is gone.
    publish_jobs(db, [("crawl:post", "crawl post", datetime.now(UTC))], started_at=datetime.now(UTC))
    old = (datetime.now(UTC) - timedelta(seconds=75)).isoformat(timespec="seconds")
    db.execute("UPDATE daemon_jobs SET updated_at = ?", [old])
    db.conn.commit()
    db.close()
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "daemon: not running (heartbeat stale" in result.output
    assert "next run" not in result.output


def test_a_sigkilled_daemon_is_reported_not_running(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    site.add("/feed.xml", rss_feed(site, []), content_type="application/rss+xml")
    config = _config(tmp_path, site.url("/feed.xml"))
    process = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], cwd=tmp_path, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def status() -> dict[str, object]:
            result = CliRunner().invoke(main, ["status", "--json", "--config", str(config)])
            return json.loads(result.stdout) if result.exit_code == 0 else {}

        def crawled_and_scheduled() -> bool:
            sources = status().get("sources") or []
            return any(s.get("next_run") for s in sources)  # type: ignore[union-attr]

        assert wait_for(crawled_and_scheduled, timeout=90), "the daemon crawled and published its next run"
        assert f"pid {process.pid}" in str(status()["daemon"])
        assert "next run" in CliRunner().invoke(main, ["status", "--config", str(config)]).output
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"daemon: not running (pid {process.pid} is gone" in result.output
    assert "next run" not in result.output
    assert os.path.exists(tmp_path / "data" / "nw.db")


def test_a_pid_from_another_host_is_judged_by_the_heartbeat_alone() -> None:
    from scheduler.state import daemon_liveness

    now = datetime.now(UTC)
    fresh = {"process": f"pid {2**22 + 12345} on some-other-container since x", "heartbeat": now.isoformat()}
    assert daemon_liveness(fresh, now)["running"] is True
    old = {**fresh, "heartbeat": (now - timedelta(seconds=75)).isoformat()}
    assert daemon_liveness(old, now)["running"] is False
