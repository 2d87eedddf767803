"""SIGTERM mid-crawl and mid-delivery loses nothing, and a restart neither re-alerts nor refetches."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import SEED, need
from tests.e2e_site import (
    NEWSWATCH,
    SEED_TITLE,
    article_page,
    rss_feed,
    seed_paragraphs,
    target_env,
    wait_for,
    write_config,
)
from tests.loopback import LoopbackHTTPServer, Response, SMTPSink, WebhookReceiver

SEED_PATH = "/news/japan-vietnam-defence-deal"




def _start(config: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*NEWSWATCH, "run", "--config", str(config), "--stop-timeout", "20"], env=env,
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _terminate(process: subprocess.Popen[str]) -> tuple[float, str]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    assert "Traceback" not in err
    return time.monotonic() - started, err


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

        first = _start(config, env, tmp_path)
        assert wait_for(lambda: len(site.requests_to(SEED_PATH)) == 1), "the crawl reached the article"
        seconds, _err = _terminate(first)  # the article is still being served
        assert seconds < 25, "SIGTERM is honoured within the stop timeout"

        second = _start(config, env, tmp_path)
        assert wait_for(lambda: bool(receiver.received and webhook.received and smtp_sink.messages))
        time.sleep(2)
        _terminate(second)
    assert (len(receiver.received), len(webhook.received), len(smtp_sink.messages)) == (1, 1, 1)
    assert len(site.requests_to(SEED_PATH)) <= 2, "at most the interrupted fetch is repeated"

    # A third start: nothing is refetched and nothing is alerted again.
    fetched = len(site.requests_to(SEED_PATH))
    third = _start(config, env, tmp_path)
    assert wait_for(lambda: len(site.requests_to("/feed.xml")) >= 3)
    time.sleep(2)
    _terminate(third)
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

        first = _start(config, env, tmp_path)
        assert wait_for(lambda: len(slow_slack.requests) == 1), "delivery to Slack started"
        _terminate(first)
        assert len(slow_slack.received) == 1, "the send in flight was finished, not abandoned"

        second = _start(config, env, tmp_path)
        time.sleep(4)
        _terminate(second)
        assert len(slow_slack.requests) == 1, "a finished delivery is never sent again"
        assert len(webhook.received) == 1 and len(smtp_sink.messages) == 1
