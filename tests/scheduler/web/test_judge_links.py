"""Alerts link back to the workbench when web.public_url is set: the story's page in Slack, email and
the webhook payload, and one-click "not relevant" links in Slack and email whose GET only asks and
whose POST records the judgement. Real loopback receivers, a real SMTP sink, a real uvicorn."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from alerts import compile_matcher, deliver_due, process_new_articles
from alerts.feedback import judge
from alerts.links import TokenError, judge_token
from scheduler.config import ConfigError, load_config
from scheduler.schema import open_store
from tests.alerts.test_slack_blocks import validate
from tests.loopback import SMTPSink, WebhookReceiver
from tests.scheduler.web.labkit import csrf, served, story_of
from tests.scheduler.web.workbench import add


def _config(path: Path, slack: WebhookReceiver, hook: WebhookReceiver, mail: SMTPSink, public_url: str) -> Path:
    path.write_text(
        "database: nw.db\n"
        f"web: {{public_url: '{public_url}'}}\n"
        "targets:\n"
        f"  - {{name: slack, kind: slack, url: '{slack.url('/slack')}'}}\n"
        f"  - {{name: hook, kind: webhook, url: '{hook.url('/hook')}'}}\n"
        f"  - {{name: mail, kind: email, smtp: {{host: {mail.host}, port: {mail.port}, starttls: false}}, "
        "from: newswatch@example.org, to: [analysts@example.org]}\n"
        "watchlists:\n"
        "  - {name: maritime, targets: [slack, hook, mail], rules: [{name: places, any: ['coast guard']}]}\n",
        encoding="utf-8")
    return path


def _labels(path: Path) -> list[tuple[int, str, int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT story_id, watchlist, relevant, who FROM judgements").fetchall()


def test_not_relevant_links_from_slack_and_email_record_a_judgement_only_when_confirmed(tmp_path: Path,
                                                                                        smtp_sink: SMTPSink) -> None:
    database = tmp_path / "nw.db"
    with WebhookReceiver() as slack, WebhookReceiver() as hook, served(database, None) as base:
        config = load_config(_config(tmp_path / "config.yaml", slack, hook, smtp_sink, base))
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes())
        assert deliver_due(db, config.targets).delivered == 3
        story = story_of(db, "https://rappler.example/shoal")

        validate(json.loads(slack.received[0].body))  # still valid Block Kit, links closed
        blocks = json.loads(slack.received[0].body)["blocks"]
        links = blocks[-1]["elements"][0]["text"]
        assert links.startswith(f"<{base}/stories/{story}|Open in newswatch> · Not relevant for: <{base}/judge/")
        slack_link = html.unescape(re.search(r"<([^|>]+)\|maritime>", links).group(1))
        payload = json.loads(hook.received[0].body)
        assert payload["story"]["workbench_url"] == f"{base}/stories/{story}"
        assert "judge" not in hook.received[0].body.decode()  # a machine gets the page, not a judge link
        mail = smtp_sink.parsed()[0]
        text = mail.get_body(("plain",)).get_content()
        assert f"Open in newswatch: {base}/stories/{story}" in text
        mail_link = re.search(r"Not relevant for maritime\? One click: (\S+)", text).group(1)
        assert f'href="{mail_link}">maritime</a>' in mail.get_body(("html",)).get_content()

        session = requests.Session()
        page, token = csrf(session, slack_link)  # what a mail scanner or link preview would fetch
        assert "Not relevant for maritime?" in page and "Coast guard fires water cannon" in page
        assert _labels(database) == []  # opening the link judged nothing
        done = session.post(slack_link, data={"csrf": token}, timeout=60, allow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == f"/stories/{story}?done=judged"
        assert _labels(database) == [(story, "maritime", 0, "local")]

        judge(db, story, "maritime", True, "ana")  # a colleague disagreed; the email link judges again
        page, token = csrf(session, mail_link)
        assert "Judged relevant by ana" in page
        session.post(mail_link, data={"csrf": token}, timeout=60)
        assert _labels(database) == [(story, "maritime", 0, "local")]


def test_forged_altered_and_expired_links_are_refused(tmp_path: Path, smtp_sink: SMTPSink) -> None:
    database = tmp_path / "nw.db"
    with WebhookReceiver() as slack, WebhookReceiver() as hook, served(database, None) as base:
        config = load_config(_config(tmp_path / "config.yaml", slack, hook, smtp_sink, base))
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes())
        deliver_due(db, config.targets)
        story = story_of(db, "https://rappler.example/shoal")
        good = re.search(r"One click: (\S+)", smtp_sink.parsed()[0].get_body(("plain",)).get_content()).group(1)
        key = str(db.execute("SELECT value FROM web_state WHERE key = 'secret_key'").fetchone()[0]).encode()
        token = good.rsplit("/", 1)[1]
        story_part, expires, watchlist, signature = token.split(".")
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        bad = {
            "altered signature": f"{base}/judge/{story_part}.{expires}.{watchlist}.{flipped}",
            "another story": f"{base}/judge/{int(story_part) + 1}.{expires}.{watchlist}.{signature}",
            "later expiry": f"{base}/judge/{story_part}.{int(expires) + 86400}.{watchlist}.{signature}",
            "another key": f"{base}/judge/{judge_token(b'not-the-key', story, 'maritime', int(expires))}",
            "garbage": f"{base}/judge/not-a-token",
        }
        expired = f"{base}/judge/{judge_token(key, story, 'maritime', int(time.time()) - 60)}"
        session = requests.Session()
        _, csrf_token = csrf(session, good)
        for why, url in bad.items():
            answer = session.get(url, timeout=60)
            assert answer.status_code == 403, why
            assert "judge the story on its page" in answer.text or "not a newswatch judge link" in answer.text, why
            posted = session.post(url, data={"csrf": csrf_token}, timeout=60, allow_redirects=False)
            assert posted.status_code == 403, why
        answer = session.get(expired, timeout=60)
        assert answer.status_code == 403 and "this link expired on" in answer.text
        assert session.post(expired, data={"csrf": csrf_token}, timeout=60).status_code == 403
        assert _labels(database) == []


def test_judge_links_live_as_long_as_web_judge_link_days_says(tmp_path: Path, smtp_sink: SMTPSink) -> None:
    from datetime import UTC, datetime, timedelta

    from alerts.links import read_judge_token

    with WebhookReceiver() as slack, WebhookReceiver() as hook:
        path = _config(tmp_path / "config.yaml", slack, hook, smtp_sink, "https://news.example.org")
        path.write_text(path.read_text(encoding="utf-8").replace(
            "web: {public_url: 'https://news.example.org'}",
            "web: {public_url: 'https://news.example.org', judge_link_days: 7}"), encoding="utf-8")
        config = load_config(path)
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        queued = datetime.now(UTC).replace(microsecond=0)
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes(),
                             now=queued)
        deliver_due(db, config.targets, now=queued)
        link = re.search(r"One click: (\S+)", smtp_sink.parsed()[0].get_body(("plain",)).get_content()).group(1)
        key = str(db.execute("SELECT value FROM web_state WHERE key = 'secret_key'").fetchone()[0]).encode()
        token = link.rsplit("/", 1)[1]
        assert read_judge_token(key, token, queued + timedelta(days=7) - timedelta(seconds=1)).watchlist == "maritime"
        with pytest.raises(TokenError, match="expired"):
            read_judge_token(key, token, queued + timedelta(days=7, seconds=1))

    bad = path.read_text(encoding="utf-8").replace("judge_link_days: 7", "judge_link_days: 0")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="judge_link_days"):
        load_config(path)


def test_digests_carry_the_story_page_and_a_not_relevant_link_per_story(tmp_path: Path, smtp_sink: SMTPSink) -> None:
    from datetime import UTC, datetime, timedelta

    database = tmp_path / "nw.db"
    with WebhookReceiver() as slack, WebhookReceiver() as hook, served(database, None) as base:
        path = _config(tmp_path / "config.yaml", slack, hook, smtp_sink, base)
        hourly = "targets: [{target: slack, digest: hourly}, {target: mail, digest: hourly}]"
        path.write_text(path.read_text(encoding="utf-8").replace("targets: [slack, hook, mail]", hourly),
                        encoding="utf-8")
        config = load_config(path)
        db = open_store(config.database)
        add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal")
        add(db, "https://local.example/beach", "Coast guard rescues two swimmers at the beach",
            "The coast guard rescued two swimmers on Saturday.", source="local")
        now = datetime.now(UTC)
        process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes(), now=now)
        report = deliver_due(db, config.targets, now=now + timedelta(hours=1, minutes=1))
        assert (report.digests_due, report.delivered) == (2, 2)
        beach = story_of(db, "https://local.example/beach")

        payload = json.loads(slack.received[0].body)
        validate(payload)
        section = next(b["text"]["text"] for b in payload["blocks"] if "swimmers" in json.dumps(b))
        assert f"<{base}/stories/{beach}|open> · <{base}/judge/{beach}." in section
        text = smtp_sink.parsed()[0].get_body(("plain",)).get_content()
        assert f"Open in newswatch: {base}/stories/{beach} · not relevant: {base}/judge/{beach}." in text
        link = re.search(rf"({re.escape(base)}/judge/{beach}\.\S+)", text).group(1)
        html_part = smtp_sink.parsed()[0].get_body(("html",)).get_content()
        assert f'<a href="{link}">not relevant</a>' in html_part

        session = requests.Session()
        page, token = csrf(session, link)
        assert "Coast guard rescues two swimmers at the beach" in page
        session.post(link, data={"csrf": token}, timeout=60)
        assert _labels(database) == [(beach, "maritime", 0, "local")]
