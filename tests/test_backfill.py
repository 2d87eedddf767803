"""Nothing lost on the first run: a story matched while a target was off is sent once it comes on.

End to end with the real `newswatch` command and a loopback webhook receiver: the quick start runs
before the webhook's `${NEWSWATCH_WEBHOOK_URL}` is set, then the daemon starts with it set (the alert
arrives, exactly once), then the daemon starts again (still exactly once). Also `alerts send` by hand.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SEED, need
from tests.e2e_site import (
    NEWSWATCH,
    SEED_TITLE,
    article_page,
    rss_feed,
    run_newswatch,
    seed_paragraphs,
    target_env,
    wait_for,
    write_config,
)
from tests.loopback import LoopbackHTTPServer, SMTPSink, WebhookReceiver


@pytest.fixture
def seed_site(site: LoopbackHTTPServer) -> LoopbackHTTPServer:
    need(SEED)
    site.add("/news/japan-vietnam-defence-deal", article_page(SEED_TITLE, seed_paragraphs()))
    site.add("/feed.xml", rss_feed(site, [
        ("/news/japan-vietnam-defence-deal", SEED_TITLE, "Japan and Vietnam signed a defence deal."),
    ]), content_type="application/rss+xml")
    return site


def _daemon_until(config: Path, env: dict[str, str], log: Path, ready: str) -> str:
    """Run the daemon until `ready` is in its log, then stop it (SIGTERM: it flushes the outbox)."""
    with log.open("w", encoding="utf-8") as err:
        daemon = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], env=env, cwd=config.parent,
                                  stdout=subprocess.DEVNULL, stderr=err, text=True)
        try:
            seen = wait_for(lambda: ready in log.read_text(encoding="utf-8") or daemon.poll() is not None, 90)
            assert seen and daemon.poll() is None, log.read_text(encoding="utf-8")
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                raise
    text = log.read_text(encoding="utf-8")
    assert daemon.returncode == 0, text
    assert "Traceback" not in text
    return text


def test_story_matched_while_target_was_off_is_sent_once_when_it_comes_on(
    seed_site: LoopbackHTTPServer, receiver: WebhookReceiver, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    with WebhookReceiver() as webhook:
        config = write_config(tmp_path / "config.yaml", seed_site.url("/feed.xml"), every="1h")
        env = target_env(receiver.url("/slack"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)
        quick_start = {k: v for k, v in env.items() if k != "NEWSWATCH_WEBHOOK_URL"}

        first = run_newswatch(["crawl", "--once", "--config", str(config)], quick_start, tmp_path)
        assert first.returncode == 0, first.stderr
        assert len(receiver.received) == 1, "the story matched (Slack was on)"
        assert webhook.requests == []

        log = _daemon_until(config, env, tmp_path / "first.log", "newswatch started")
        assert wait_for(lambda: len(webhook.received) >= 1, 30)
        assert ("backfill: target webhook-archive is on: queued 2 story match(es) from the last 1d, "
                "in 1 new message(s)") in log, log
        assert SEED_TITLE.split(",")[0] in webhook.received[0].body.decode()

        again = _daemon_until(config, env, tmp_path / "second.log", "newswatch started")
        assert "backfill: target webhook-archive is on: nothing missed in the last 1d (2 already" in again, again
        assert len(webhook.received) == 1, "a restart sends nothing twice"
        assert len(receiver.received) == 1


def test_alerts_send_queues_by_hand_once(
    seed_site: LoopbackHTTPServer, receiver: WebhookReceiver, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    with WebhookReceiver() as webhook:
        config = write_config(tmp_path / "config.yaml", seed_site.url("/feed.xml"))
        env = target_env(receiver.url("/slack"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)
        quick_start = {k: v for k, v in env.items() if k != "NEWSWATCH_WEBHOOK_URL"}
        assert run_newswatch(["crawl", "--once", "--config", str(config)], quick_start, tmp_path).returncode == 0

        off = run_newswatch(["alerts", "send", "--story", "1", "--target", "webhook-archive", "--config",
                             str(config)], quick_start, tmp_path)
        assert off.returncode == 1 and "target 'webhook-archive' is disabled" in off.stderr, off.stderr

        sent = run_newswatch(["alerts", "send", "--story", "1", "--target", "webhook-archive", "--config",
                              str(config)], env, tmp_path)
        assert sent.returncode == 0, sent.stderr
        assert "queued 2 story match(es) for webhook-archive in 1 new message(s); 0 already" in sent.stdout
        repeat = run_newswatch(["alerts", "send", "--since", "1d", "--target", "webhook-archive", "--config",
                                str(config)], env, tmp_path)
        assert "queued 0 story match(es) for webhook-archive in 0 new message(s); 2 already" in repeat.stdout, \
            repeat.stdout
        slack = run_newswatch(["alerts", "send", "--since", "1d", "--target", "slack-analysts", "--config",
                               str(config)], env, tmp_path)
        assert "for slack-analysts in 0 new message(s); 2 already" in slack.stdout, slack.stdout

        deliver = run_newswatch(["crawl", "--once", "--config", str(config)], env, tmp_path)
        assert deliver.returncode == 0, deliver.stderr
        assert len(webhook.received) == 1 and len(receiver.received) == 1  # crawl --once delivers before exiting
