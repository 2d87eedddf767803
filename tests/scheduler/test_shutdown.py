"""SIGTERM mid-crawl and mid-delivery loses nothing, and a restart neither re-alerts nor refetches."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SEED, need
from tests.e2e_site import (
    SEED_TITLE,
    RunningDaemon,
    article_page,
    rss_feed,
    seed_paragraphs,
    target_env,
    wait_for,
    write_config,
)
from tests.loopback import LoopbackHTTPServer, Response, SMTPSink, WebhookReceiver

SEED_PATH = "/news/japan-vietnam-defence-deal"


def _start(config: Path, env: dict[str, str], cwd: Path) -> RunningDaemon:
    # A stop waits this long for running crawls: generous, so a slow machine never cuts one off.
    return RunningDaemon(config, cwd, env, ("--stop-timeout", "120"))


def _site(site: LoopbackHTTPServer, page_delay: float) -> None:
    need(SEED)
    page = article_page(SEED_TITLE, seed_paragraphs()).encode()
    site.route(SEED_PATH, lambda _r: Response(200, page, {"Content-Type": "text/html; charset=utf-8"},
                                              delay=page_delay))
    site.add("/feed.xml", rss_feed(site, [(SEED_PATH, SEED_TITLE, "Japan and Vietnam sign a defence deal.")]),
             content_type="application/rss+xml")


def test_sigterm_during_a_crawl_then_restart_alerts_once(
    site: LoopbackHTTPServer, receiver: WebhookReceiver, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    _site(site, page_delay=3.0)
    with WebhookReceiver() as webhook:
        config = write_config(tmp_path / "config.yaml", site.url("/feed.xml"), every="1h")
        env = target_env(receiver.url("/slack"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)

        with _start(config, env, tmp_path) as first:
            assert wait_for(lambda: len(site.requests_to(SEED_PATH)) == 1), "the crawl reached the article"
            err = first.stop()  # the article is still being served; exit 0, no traceback
        assert "newswatch stopped" in err, "SIGTERM is honoured: in-flight work ends, the daemon stops"

        feed_fetches = len(site.requests_to("/feed.xml"))
        with _start(config, env, tmp_path) as second:
            assert wait_for(lambda: bool(receiver.received and webhook.received and smtp_sink.messages))
            # Once this daemon's crawl has read the feed, a stop waits for that crawl and then flushes
            # the outbox: a second copy of any alert would be sent before the exit.
            assert wait_for(lambda: len(site.requests_to("/feed.xml")) > feed_fetches), "the restart crawls"
            second.stop()
    assert (len(receiver.received), len(webhook.received), len(smtp_sink.messages)) == (1, 1, 1)
    assert len(site.requests_to(SEED_PATH)) <= 2, "at most the interrupted fetch is repeated"

    # A third start: nothing is refetched and nothing is alerted again.
    fetched = len(site.requests_to(SEED_PATH))
    feed_fetches = len(site.requests_to("/feed.xml"))
    with _start(config, env, tmp_path) as third:
        assert wait_for(lambda: len(site.requests_to("/feed.xml")) > feed_fetches)
        # The crawl that read the feed ends before a stop completes (the stop waits for running crawls).
        third.stop()
    assert len(site.requests_to(SEED_PATH)) == fetched
    assert len(receiver.received) == 1


def test_sigterm_during_a_delivery_finishes_it_and_never_repeats_it(
    site: LoopbackHTTPServer, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    _site(site, page_delay=0.0)
    with WebhookReceiver() as slow_slack, WebhookReceiver() as webhook:
        original = slow_slack.respond
        slow_slack.respond = lambda request: Response(**{**original(request).__dict__, "delay": 3.0})  # type: ignore[method-assign]
        config = write_config(tmp_path / "config.yaml", site.url("/feed.xml"), every="1h")
        env = target_env(slow_slack.url("/slack"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)

        with _start(config, env, tmp_path) as first:
            assert wait_for(lambda: len(slow_slack.requests) == 1), "delivery to Slack started"
            first.stop()
        assert len(slow_slack.received) == 1, "the send in flight was finished, not abandoned"

        with _start(config, env, tmp_path) as second:
            # Up and running: its first delivery pass is due now, and the stop flushes the outbox, so a
            # delivery left unrecorded by the first daemon would be sent again before the exit.
            second.wait_for_line("newswatch started")
            second.stop()
        assert "delivery run failed" not in second.stderr
        assert len(slow_slack.requests) == 1, "a finished delivery is never sent again"
        assert len(webhook.received) == 1 and len(smtp_sink.messages) == 1
