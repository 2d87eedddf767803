"""`newswatch crawl --once` as cron sees it: its exit code says whether anything could be fetched, and a
failed source costs one log line naming its reason class, not a Scrapy traceback per request."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.e2e_site import free_port, rss_feed, run_newswatch
from tests.loopback import LoopbackHTTPServer


def _config(tmp_path: Path, sources: list[tuple[str, str]], log_level: str = "INFO") -> Path:
    lines = [f"  - {{name: {name}, kind: feed, url: '{url}', every: 5m}}" for name, url in sources]
    path = tmp_path / "config.yaml"
    path.write_text(f"database: nw.db\nlog_level: {log_level}\ncrawl: {{download_delay: 0.0, retry_times: 1}}\n"
                    "sources:\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]


def test_every_source_failing_exits_1_with_one_line_per_source_and_no_traceback(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, [("down-a", f"http://127.0.0.1:{port}/a.xml"),
                                ("down-b", f"http://127.0.0.1:{port}/b.xml")])
    done = run_newswatch(["crawl", "--once", "--config", str(config)], _env(), tmp_path)
    assert done.returncode == 1, done.stderr
    assert "all 2 source(s) failed" in done.stderr
    assert "Traceback" not in done.stderr
    problems = _problem_lines(done.stderr)
    assert len(problems) == 2, "\n".join(problems)
    for name in ("down-a", "down-b"):
        (line,) = [p for p in problems if f"source {name} failed" in p]
        assert "(network)" in line
    assert "down-a: 0 new articles, FAILED (network" in done.stdout


def test_one_source_fetched_exits_0_even_when_others_fail(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    site.add("/feed.xml", rss_feed(site, []), content_type="application/rss+xml")
    config = _config(tmp_path, [("up", site.url("/feed.xml")), ("down", f"http://127.0.0.1:{free_port()}/a.xml")])
    done = run_newswatch(["crawl", "--once", "--config", str(config)], _env(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(_problem_lines(done.stderr)) == 1
    # Unchanged the second time (same body): still fetched, still 0.
    again = run_newswatch(["crawl", "--once", "--config", str(config), "--source", "up"], _env(), tmp_path)
    assert again.returncode == 0, again.stderr


def test_tracebacks_are_kept_for_debug(tmp_path: Path) -> None:
    config = _config(tmp_path, [("down", f"http://127.0.0.1:{free_port()}/a.xml")], log_level="DEBUG")
    done = run_newswatch(["crawl", "--once", "--config", str(config)], _env(), tmp_path)
    assert done.returncode == 1
    assert "DEBUG scrapy.downloadermiddlewares.robotstxt" in done.stderr and "Traceback" in done.stderr


def test_at_info_level_a_failed_source_is_one_warning_and_no_traceback(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, [("down-a", f"http://127.0.0.1:{port}/a.xml"),
                                ("down-b", f"http://127.0.0.1:{port}/b.xml")], log_level="INFO")
    done = run_newswatch(["run", "--once", "--config", str(config)], _env(), tmp_path)
    assert "Traceback" not in done.stderr
    problems = _problem_lines(done.stderr)
    assert sorted(p.split("WARNING ", 1)[1].split(":", 2)[1].strip() for p in problems) == [
        "source down-a failed (network)", "source down-b failed (network)"], done.stderr
