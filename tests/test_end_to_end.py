"""The real thing, end to end: the `newswatch` command crawls a loopback news site and alerts a
loopback Slack receiver, a loopback webhook receiver and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import SEED, need
from tests.e2e_site import (
    CALM_TEXT,
    CALM_TITLE,
    NEWSWATCH,
    SEED_TITLE,
    article_page,
    free_port,
    rss_feed,
    run_newswatch,
    seed_paragraphs,
    target_env,
    write_config,
)
from tests.loopback import LoopbackHTTPServer, SMTPSink, WebhookReceiver
from tests.waiting import TIMEOUT, wait_for

BOTH = ("maritime-disputes", "arms-deals")


@pytest.fixture
def news_site(site: LoopbackHTTPServer) -> LoopbackHTTPServer:
    need(SEED)
    site.add("/news/japan-vietnam-defence-deal", article_page(SEED_TITLE, seed_paragraphs()))
    site.add("/news/ramen-festival", article_page(CALM_TITLE, CALM_TEXT))
    site.add("/feed.xml", rss_feed(site, [
        ("/news/japan-vietnam-defence-deal", SEED_TITLE, "Japan and Vietnam signed a deal enabling exports "
         "of Japanese-made defence equipment."),
        ("/news/ramen-festival", CALM_TITLE, "Visitors queued for noodles in Tokyo."),
    ]), content_type="application/rss+xml")
    return site


def _get(url: str) -> requests.Response:
    return requests.get(url, timeout=60)


def _alert_counts(slack: WebhookReceiver, webhook: WebhookReceiver, smtp: SMTPSink) -> tuple[int, int, int]:
    return len(slack.received), len(webhook.received), len(smtp.messages)


def test_crawl_once_alerts_each_channel_once_for_the_seed_story(
    news_site: LoopbackHTTPServer, receiver: WebhookReceiver, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    with WebhookReceiver() as webhook:
        config = write_config(tmp_path / "config.yaml", news_site.url("/feed.xml"))
        env = target_env(receiver.url("/slack/T000/B000"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)

        first = run_newswatch(["crawl", "--once", "--config", str(config)], env, tmp_path)
        assert first.returncode == 0, first.stderr

        assert _alert_counts(receiver, webhook, smtp_sink) == (1, 1, 1), first.stdout + first.stderr
        slack_message = json.loads(receiver.received[0].body)
        slack_text = json.dumps(slack_message)
        assert "Japan-Vietnam sign defence export deal" in slack_text
        assert all(name in slack_text for name in BOTH)
        assert "blocks" in slack_message and slack_message["text"]
        assert "ramen" not in slack_text.lower()

        payload = json.loads(webhook.received[0].body)
        assert sorted(payload["watchlists"]) == sorted(BOTH) or all(n in json.dumps(payload) for n in BOTH)
        assert "utm_source" not in json.dumps(payload), "the alert links the canonical URL"
        assert webhook.received[0].headers.get("x-newswatch-signature", "").startswith("sha256=")

        mail = smtp_sink.messages[0]
        assert "Japan-Vietnam" in mail["Subject"]
        assert mail.is_multipart()
        assert {part.get_content_type() for part in mail.walk()} >= {"text/plain", "text/html"}

        # The article pages were fetched once each; a second run finds nothing new and sends nothing.
        assert len(news_site.requests_to("/news/japan-vietnam-defence-deal")) == 1
        second = run_newswatch(["crawl", "--once", "--config", str(config)], env, tmp_path)
        assert second.returncode == 0, second.stderr
        assert _alert_counts(receiver, webhook, smtp_sink) == (1, 1, 1)
        assert len(news_site.requests_to("/news/japan-vietnam-defence-deal")) == 1

        db = sqlite3.connect(tmp_path / "newswatch.db")
        urls = [row[0] for row in db.execute("SELECT url FROM articles ORDER BY id")]
        assert len(urls) == 2 and not any("utm_" in u for u in urls)
        stored = db.execute("SELECT text FROM articles WHERE title LIKE '%Japan-Vietnam%'").fetchone()[0]
        assert "Spratly and Paracel" in stored
        assert "Holiday deals to Bali" not in stored and "Privacy policy" not in stored


def test_webhook_failing_then_recovering_is_delivered_once_later(
    news_site: LoopbackHTTPServer, receiver: WebhookReceiver, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    with WebhookReceiver() as webhook:
        webhook.script([500])
        config = write_config(tmp_path / "config.yaml", news_site.url("/feed.xml"))
        env = target_env(receiver.url("/slack"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)
        first = run_newswatch(["crawl", "--once", "--config", str(config)], env, tmp_path)
        assert first.returncode == 0, first.stderr
        assert len(webhook.requests) == 1 and webhook.received == []
        assert len(receiver.received) == 1  # the other channels are not held up

        # The retry is due after a backoff; `run --once`-style passes until it is delivered.
        def crawl_again() -> bool:
            again = run_newswatch(["crawl", "--once", "--config", str(config)], env, tmp_path)
            assert again.returncode == 0, again.stderr
            return bool(webhook.received)

        assert wait_for(crawl_again, timeout=600), "the webhook retry is delivered"
        assert len(webhook.received) == 1
        assert len(receiver.received) == 1 and len(smtp_sink.messages) == 1
        keys = {r.headers.get("idempotency-key") for r in webhook.requests}
        assert len(keys) == 1 and None not in keys, "a retry carries the same idempotency key"


def test_match_command_flags_the_seed_story_on_both_watchlists() -> None:
    need(SEED)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([*NEWSWATCH, "match", str(SEED), "--json"], cwd=root, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["watchlists"]) == sorted(BOTH)
    terms = " ".join(e["term"].lower() for m in result["matches"] for e in m["evidence"])
    assert "diaoyu" in terms or "senkaku" in terms


def test_daemon_alerts_an_article_added_while_it_runs_and_stops_on_sigterm(
    site: LoopbackHTTPServer, receiver: WebhookReceiver, smtp_sink: SMTPSink, tmp_path: Path
) -> None:
    need(SEED)
    site.add("/news/ramen-festival", article_page(CALM_TITLE, CALM_TEXT))
    site.add("/news/japan-vietnam-defence-deal", article_page(SEED_TITLE, seed_paragraphs()))
    calm_only = [("/news/ramen-festival", CALM_TITLE, "Visitors queued for noodles in Tokyo.")]
    site.add("/feed.xml", rss_feed(site, calm_only), content_type="application/rss+xml")
    with WebhookReceiver() as webhook:
        port = free_port()
        config = write_config(tmp_path / "config.yaml", site.url("/feed.xml"), every="2s",
                              extra=f"metrics: {{port: {port}}}\n")
        env = target_env(receiver.url("/slack"), webhook.url("/hook"), smtp_sink.host, smtp_sink.port)
        daemon = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: len(site.requests_to("/feed.xml")) >= 2), "the daemon polls the feed"
            assert receiver.received == []

            site.add("/feed.xml", rss_feed(site, [
                ("/news/japan-vietnam-defence-deal", SEED_TITLE, "Japan and Vietnam signed a defence deal."),
                *calm_only,
            ]), content_type="application/rss+xml")
            assert wait_for(lambda: bool(receiver.received and webhook.received and smtp_sink.messages))
            assert len(receiver.received) == 1 and len(webhook.received) == 1 and len(smtp_sink.messages) == 1
            assert SEED_TITLE.split(",")[0] in receiver.received[0].body.decode()

            # The daemon counts a delivery once the receiver has answered: wait for the counter.
            latency = 'newswatch_publication_to_alert_seconds_count{target="slack-analysts"} 1.0'
            assert wait_for(lambda: latency in _get(f"http://127.0.0.1:{port}/metrics").text), latency
            metrics = _get(f"http://127.0.0.1:{port}/metrics").text
            assert 'newswatch_articles_total{source="loopback-post"} 2.0' in metrics
            assert _get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                _out, err = daemon.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                daemon.kill()
                raise
        assert daemon.returncode == 0, err
        assert "Traceback" not in err
        assert "s3cret-hmac-key" not in err


def test_invalid_config_is_reported_with_line_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("database: x.db\nsources:\n  - name: a\n    kind: rss\n    url: http://127.0.0.1/\n"
                   "    every: soon\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    done = run_newswatch(["check-config", "--config", str(bad)], env, tmp_path)
    assert done.returncode == 2
    assert f"{bad}:4 sources[0].kind" in done.stderr
    assert f"{bad}:6 sources[0].every" in done.stderr and "5m" in done.stderr
    assert "Traceback" not in done.stderr
