"""The daemon as an operator sees it: config reload on save and SIGHUP, bad edits rejected, clean stop."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e_site import (
    CALM_TEXT,
    CALM_TITLE,
    RunningDaemon,
    article_page,
    rss_feed,
    target_env,
    wait_for,
    write_config,
)
from tests.loopback import LoopbackHTTPServer, Request, Response, WebhookReceiver
from tests.waiting import TIMEOUT


@pytest.fixture
def calm_site(site: LoopbackHTTPServer) -> LoopbackHTTPServer:
    site.add("/news/ramen", article_page(CALM_TITLE, CALM_TEXT))
    for feed in ("/a.xml", "/b.xml"):
        site.add(feed, rss_feed(site, [("/news/ramen", CALM_TITLE, "Noodles.")]),
                 content_type="application/rss+xml")
    return site


@pytest.fixture
def daemon(calm_site: LoopbackHTTPServer, tmp_path: Path) -> Iterator[tuple[RunningDaemon, Path]]:
    config = write_config(tmp_path / "config.yaml", calm_site.url("/a.xml"), every="1s")
    env = target_env("http://127.0.0.1:9/none", "http://127.0.0.1:9/none", "127.0.0.1", 9)
    with RunningDaemon(config, tmp_path, env, ("--stop-timeout", "10")) as running:
        yield running, config


def test_saved_config_edits_add_sources_and_bad_edits_keep_the_old_config(
    daemon: tuple[RunningDaemon, Path], calm_site: LoopbackHTTPServer
) -> None:
    running, config = daemon
    assert wait_for(lambda: len(calm_site.requests_to("/a.xml")) >= 2)
    good = config.read_text(encoding="utf-8")

    # A broken edit: reported, and the running config keeps crawling.
    config.write_text(good.replace("kind: feed", "kind: fed"), encoding="utf-8")
    before = len(calm_site.requests_to("/a.xml"))
    assert wait_for(lambda: len(calm_site.requests_to("/a.xml")) >= before + 3)

    # A valid edit that swaps the source: the new one is crawled, the old one stops.
    config.write_text(good.replace("/a.xml", "/b.xml"), encoding="utf-8")
    assert wait_for(lambda: len(calm_site.requests_to("/b.xml")) >= 2)
    settled = len(calm_site.requests_to("/a.xml"))
    # Three more crawls of the new source, every 1s as the old one was: the old one got none (one
    # may have been running when the swap happened).
    b_crawls = len(calm_site.requests_to("/b.xml"))
    assert wait_for(lambda: len(calm_site.requests_to("/b.xml")) >= b_crawls + 3)
    assert len(calm_site.requests_to("/a.xml")) <= settled + 1

    err = running.stop()
    assert "config reload rejected" in err and "sources[0].kind" in err
    assert "Traceback" not in err


def test_sighup_reloads(daemon: tuple[RunningDaemon, Path], calm_site: LoopbackHTTPServer) -> None:
    running, config = daemon
    assert wait_for(lambda: len(calm_site.requests_to("/a.xml")) >= 1)
    text = config.read_text(encoding="utf-8")
    stat = config.stat()
    config.write_text(text.replace("/a.xml", "/b.xml"), encoding="utf-8")
    # Keep the modification time, so only the signal can trigger the reload.
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    # The daemon checks the file every 2 s and the source is crawled every 1 s: while it crawls the
    # old source several more times, the unchanged modification time triggers no reload.
    crawls = len(calm_site.requests_to("/a.xml"))
    assert wait_for(lambda: len(calm_site.requests_to("/a.xml")) >= crawls + 4)
    assert calm_site.requests_to("/b.xml") == []
    running.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: len(calm_site.requests_to("/b.xml")) >= 1)
    running.stop()


def test_watchlist_edited_mid_crawl_applies_to_the_article_being_fetched(
    site: LoopbackHTTPServer, tmp_path: Path
) -> None:
    page = article_page(CALM_TITLE, CALM_TEXT).encode()
    reloaded = threading.Event()

    def article(_request: Request) -> Response:
        reloaded.wait(TIMEOUT)  # the page arrives only once the daemon has taken the edit
        return Response(200, page, {"Content-Type": "text/html"})

    site.route("/news/ramen", article)
    site.add("/a.xml", rss_feed(site, [("/news/ramen", CALM_TITLE, "Noodles.")]), content_type="application/rss+xml")
    with WebhookReceiver() as hook:
        config = tmp_path / "config.yaml"
        base = (f"database: nw.db\ndelivery: {{every: 1s}}\ncrawl: {{download_timeout: 600}}\n"
                f"targets:\n  - {{name: hook, kind: webhook, url: '{hook.url('/h')}'}}\n"
                f"sources:\n  - {{name: post, kind: feed, url: '{site.url('/a.xml')}', every: 1h}}\n")
        config.write_text(base + "watchlists:\n  - {name: noodles, targets: [hook], rules: [{any: [udon]}]}\n",
                          encoding="utf-8")
        with RunningDaemon(config, tmp_path) as daemon:
            try:
                assert wait_for(lambda: len(site.requests_to("/news/ramen")) == 1), "the crawl is fetching the page"
                config.write_text(base + "watchlists:\n  - {name: noodles, targets: [hook], rules: [{any: [ramen]}]}\n",
                                  encoding="utf-8")
                daemon.wait_for_line("configuration reloaded")
            finally:
                reloaded.set()
            assert wait_for(lambda: len(hook.received) == 1), "the edited watchlist alerted the article"
            daemon.stop()
        assert "noodles" in hook.received[0].body.decode()


def test_a_reload_that_fails_unexpectedly_keeps_the_daemon_on_the_old_config(
    calm_site: LoopbackHTTPServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yaml", calm_site.url("/a.xml"), every="1s")
    env = target_env("http://127.0.0.1:9/none", "http://127.0.0.1:9/none", "127.0.0.1", 9)
    # RunningDaemon reads the log as it comes: the error's traceback is far larger than a pipe's buffer.
    with RunningDaemon(config, tmp_path, env, ("--stop-timeout", "10")) as daemon:
        assert wait_for(lambda: len(calm_site.requests_to("/a.xml")) >= 1)
        good = config.read_text(encoding="utf-8")
        # Nesting this deep makes the YAML loader recurse past Python's limit: a RecursionError, not a
        # ConfigError, unless load_config bounds it itself. Either way the daemon must carry on.
        config.write_text(good + "gazetteer: " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
        daemon.wait_for_line("config reload rejected")
        crawls = len(calm_site.requests_to("/a.xml"))
        assert wait_for(lambda: len(calm_site.requests_to("/a.xml")) >= crawls + 3), "the old config keeps crawling"

        # And a later valid edit is still applied.
        config.write_text(good.replace("/a.xml", "/b.xml"), encoding="utf-8")
        assert wait_for(lambda: len(calm_site.requests_to("/b.xml")) >= 1)
        daemon.wait_for_line("configuration reloaded")
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=TIMEOUT) == 0, daemon.stderr[-3000:]
