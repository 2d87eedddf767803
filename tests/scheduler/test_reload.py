"""A config reload applies `crawl:` options too: after a saved edit of `crawl.user_agent`, the running
daemon's next requests carry the new User-Agent (the Scrapy runner is rebuilt between crawls)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from scheduler.config import load_config
from tests.e2e_site import NEWSWATCH, rss_feed, wait_for
from tests.loopback import LoopbackHTTPServer

CONFIG = """\
database: nw.db
crawl: {{user_agent: "{agent}", download_delay: 0.0}}
sources:
  - {{name: post, kind: feed, url: "{url}", every: 1s}}
watchlists:
  - {{name: noodles, rules: [{{any: [ramen]}}]}}
"""


def test_load_config_hands_over_the_matcher_it_compiled(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(agent="a", url="http://127.0.0.1:9/feed.xml"), encoding="utf-8")
    assert load_config(path).matcher is not None, "the daemon reuses it instead of compiling again"


def test_user_agent_edit_reaches_the_next_requests(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    site.add("/feed.xml", rss_feed(site, []), content_type="application/rss+xml")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(agent="old-agent/1.0", url=site.url("/feed.xml")), encoding="utf-8")
    log = tmp_path / "daemon.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], cwd=tmp_path, env=env, text=True,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        assert wait_for(lambda: len(site.requests_to("/feed.xml")) >= 2, timeout=90), "the daemon crawls"
        assert {r.headers.get("user-agent") for r in site.requests_to("/feed.xml")} == {"old-agent/1.0"}

        config.write_text(CONFIG.format(agent="new-agent/2.0", url=site.url("/feed.xml")), encoding="utf-8")
        assert wait_for(lambda: "configuration reloaded" in log.read_text(encoding="utf-8"), timeout=90)
        before = len(site.requests_to("/feed.xml"))
        # At most one crawl was already in flight with the old runner; the ones after it use the new agent.
        assert wait_for(lambda: len(site.requests_to("/feed.xml")) >= before + 3, timeout=90)
        agents = [r.headers.get("user-agent") for r in site.requests_to("/feed.xml")[before:]]
        assert agents[1:] == ["new-agent/2.0"] * (len(agents) - 1), agents
        assert "crawl options changed (user_agent)" in log.read_text(encoding="utf-8")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert process.returncode == 0, log.read_text(encoding="utf-8")
