"""A source failing longer than `operations.disable_after` is switched off with one notice, stays off,
and `newswatch sources enable NAME` brings it back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.e2e_site import RunningDaemon, run_newswatch
from tests.loopback import LoopbackHTTPServer, Response, WebhookReceiver
from tests.waiting import wait_until

CONFIG = """\
database: nw.db
operations: {{targets: [ops], disable_after: 3s, source_failing_after: 1h}}
targets:
  - {{name: ops, kind: webhook, url: "{hook}"}}
sources:
  - {{name: flaky, kind: feed, url: "{feed}", every: 1s}}
"""


def _status(config: Path, cwd: Path) -> dict[str, object]:
    done = run_newswatch(["status", "--json", "--config", str(config)], dict(os.environ), cwd)
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _heartbeat(config: Path, cwd: Path) -> object:
    daemon = _status(config, cwd)["daemon"]
    return daemon.get("heartbeat") if isinstance(daemon, dict) else None


def _state(config: Path, cwd: Path) -> str | None:
    sources = _status(config, cwd)["sources"]
    assert isinstance(sources, list)
    return next((str(s.get("state")) for s in sources if s.get("name") == "flaky"), None)


def test_a_long_failure_disables_the_source_once_and_enable_brings_it_back(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as site, WebhookReceiver() as hook:
        site.route("/feed.xml", lambda _request: Response(500, b"down", {"Content-Type": "text/plain"}))
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG.format(hook=hook.url("/ops"), feed=site.url("/feed.xml")), encoding="utf-8")
        with RunningDaemon(config, tmp_path) as daemon:
            daemon.wait_for_line("source flaky disabled")
            wait_until(lambda: any(b"disabled" in r.body for r in hook.requests), "the disabled notice")
            assert _state(config, tmp_path) == "disabled"
            fetched = len(site.requests_to("/feed.xml"))
            # Nothing more is fetched (it was due every second): wait for two later heartbeats (5 s apart),
            # then count again.
            for _ in range(2):
                beat = _heartbeat(config, tmp_path)
                wait_until(lambda beat=beat: _heartbeat(config, tmp_path) != beat, "a later heartbeat")
            assert len(site.requests_to("/feed.xml")) <= fetched + 1  # at most one crawl already under way
            # Fixed, and switched back on: the daemon crawls it again and it recovers.
            site.route("/feed.xml", lambda _request: Response(
                200, b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
                {"Content-Type": "application/rss+xml"}))
            enabled = run_newswatch(["sources", "enable", "flaky", "--config", str(config)], dict(os.environ),
                                    tmp_path)
            assert enabled.returncode == 0 and "enabled" in enabled.stdout, enabled.stderr
            wait_until(lambda: len(site.requests_to("/feed.xml")) > fetched, "a crawl after enable", timeout=240)
            wait_until(lambda: _state(config, tmp_path) in ("ok", "empty", "not modified"), "the source recovering")
            daemon.stop()
        notices = [r for r in hook.requests if b"disabled" in r.body]
        assert len(notices) == 1  # once, not at every health check
