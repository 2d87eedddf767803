"""Slack bot-token mode against a loopback Web API: chat.postMessage, stored ts, story updates as
thread replies (once per story, article and target), Slack's error answers, and the token kept secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.delivery.models import TargetSpec
from alerts.delivery.outbox import outbox_summary
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.errors import DeliveryError
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from scheduler.config import load_config
from scheduler.errors import ConfigError
from tests.alerts.test_delivery import T0, add_article, hook, keyword_match
from tests.alerts.test_slack_blocks import validate
from tests.loopback import FakeSlackAPI, Request, Response, WebhookReceiver

TOKEN = "xoxb-1111-2222-s3cr3tT0kenValue"
CHANNEL = "C0123ABCD"
BODY = ("Japan and Vietnam signed a deal enabling exports of Japanese-made defence equipment. "
        "Both navies patrol the South China Sea, where China's coast guard is increasingly assertive. "
        "The accord was signed in Hanoi during the minister's first trip overseas.")
LATER = T0 + timedelta(minutes=30)


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(TOKEN, channels=(CHANNEL,)) as server:
        yield server


def bot(api: FakeSlackAPI, name: str = "slack", token: str = TOKEN, channel: str = CHANNEL) -> TargetSpec:
    return TargetSpec(name=name, kind="slack", token=token, channel=channel, api_url=api.api_url, timeout=5.0)


def first_story(db: sqlite_utils.Database, routes: dict[str, list[str]]) -> None:
    add_article(db, "https://www.scmp.com/deal", "Japan, Vietnam sign defence equipment deal", BODY, source="scmp")
    assert process_new_articles(db, keyword_match, routes, now=T0).alerts_enqueued >= 1


def copy_from(db: sqlite_utils.Database, outlet: str, n: int = 1) -> int:
    return add_article(db, f"https://{outlet}.example/copy-{n}", f"Vietnam and Japan ink defence accord ({n})",
                       BODY + f" (Reuters {n})", source=outlet)


def test_alert_goes_through_chat_post_message_and_keeps_its_ts(db, slack_api):
    first_story(db, {"maritime-disputes": ["slack"]})
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0).delivered == 1
    (request,) = slack_api.requests_to("/api/chat.postMessage")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    payload = json.loads(request.body)
    validate(payload)
    assert payload["channel"] == CHANNEL and "Japan, Vietnam sign defence equipment deal" in payload["text"]
    assert payload["blocks"][0]["text"]["text"].startswith("*<https://www.scmp.com/deal|")
    row = db.execute("SELECT status, slack_ts, slack_channel FROM outbox").fetchone()
    assert row == ("delivered", slack_api.posts[0]["ts"], CHANNEL)


def test_a_later_outlet_is_a_thread_reply_once(db, slack_api):
    first_story(db, {"maritime-disputes": ["slack"]})
    deliver_due(db, {"slack": bot(slack_api)}, now=T0)
    root = slack_api.posts[0]["ts"]
    copy_from(db, "cna")
    report = process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=LATER)
    assert (report.stories_joined, report.alerts_enqueued, report.updates_queued) == (1, 0, 1)
    assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER).delivered == 1
    reply = slack_api.posts[1]
    assert reply["thread_ts"] == root and reply["channel"] == CHANNEL
    assert reply["text"] == "Also reported by *cna*: <https://cna.example/copy-1|Vietnam and Japan ink defence " \
                            "accord (1)>"
    assert "blocks" not in reply and reply["unfurl_links"] is False
    # Nothing more: processing and delivering again sends no second reply for the same article.
    assert process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=LATER).articles == 0
    assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER + timedelta(hours=1)).attempted == 0
    # A third outlet is a second reply in the same thread.
    copy_from(db, "kyodo", 2)
    assert process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=LATER).updates_queued == 1
    deliver_due(db, {"slack": bot(slack_api)}, now=LATER)
    assert [p.get("thread_ts") for p in slack_api.posts] == [None, root, root]
    assert "kyodo" in slack_api.posts[2]["text"]
    kinds = db.execute("SELECT kind, status, parent_id FROM outbox ORDER BY id").fetchall()
    assert kinds == [("alert", "delivered", None), ("update", "delivered", 1), ("update", "delivered", 1)]


def test_articles_joining_before_the_alert_is_sent_need_no_reply(db, slack_api):
    first_story(db, {"maritime-disputes": ["slack"]})
    copy_from(db, "cna")
    assert process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=T0).updates_queued == 0
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0).delivered == 1
    (post,) = slack_api.posts  # one message, which already names the other outlet
    assert "Also reported by cna" in json.dumps(post["blocks"])


def test_an_article_joining_while_the_alert_is_in_flight_gets_its_reply(db, db_path, slack_api):
    """The copy is matched while Slack is answering the alert: the alert's text did not show it, and
    the pipeline saw no ts yet — recording the delivery queues its reply."""
    first_story(db, {"maritime-disputes": ["slack"]})
    answer = slack_api.routes["/api/chat.postMessage"]

    def join_then_answer(request: Request) -> Response:
        if not slack_api.posts:  # the alert itself: a copy arrives and is processed meanwhile
            other = open_store(db_path)
            copy_from(other, "cna")
            report = process_new_articles(other, keyword_match, {"maritime-disputes": ["slack"]}, now=T0)
            assert (report.stories_joined, report.updates_queued) == (1, 0)
            other.close()
        return answer(request)

    slack_api.route("/api/chat.postMessage", join_then_answer)
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0).delivered == 1
    assert "cna" not in json.dumps(slack_api.posts[0])
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0).delivered == 1
    assert slack_api.posts[1]["thread_ts"] == slack_api.posts[0]["ts"] and "cna" in slack_api.posts[1]["text"]
    assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER).attempted == 0


def test_webhook_targets_get_no_story_updates(db, slack_api, receiver: WebhookReceiver):
    routes = {"maritime-disputes": ["slack", "slack-webhook", "hook"]}
    targets = {"slack": bot(slack_api), "hook": hook(receiver),
               "slack-webhook": TargetSpec(name="slack-webhook", kind="slack", url=receiver.url("/services/T/B/x"))}
    first_story(db, routes)
    assert deliver_due(db, targets, now=T0).delivered == 3
    copy_from(db, "cna")
    assert process_new_articles(db, keyword_match, routes, now=LATER).updates_queued == 1
    assert deliver_due(db, targets, now=LATER).delivered == 1
    assert len(receiver.received) == 2 and len(slack_api.posts) == 2
    assert db.execute("SELECT target FROM outbox WHERE kind = 'update'").fetchall() == [("slack",)]


def test_a_failed_reply_is_retried_through_the_outbox(db, slack_api):
    first_story(db, {"maritime-disputes": ["slack"]})
    deliver_due(db, {"slack": bot(slack_api)}, now=T0)
    copy_from(db, "cna")
    process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=LATER)
    slack_api.script([500, "ratelimited"])
    assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER).failed == 1
    assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER + timedelta(hours=1)).failed == 1
    assert "ratelimited" in outbox_summary(db)["slack"]["last_error"]
    assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER + timedelta(hours=3)).delivered == 1
    assert len(slack_api.posts) == 2 and slack_api.posts[1]["thread_ts"] == slack_api.posts[0]["ts"]
    assert db.execute("SELECT attempts FROM outbox WHERE kind = 'update'").fetchone()[0] == 3


def test_429_honours_retry_after(db, slack_api):
    first_story(db, {"maritime-disputes": ["slack"]})
    slack_api.retry_after = "7200"
    slack_api.script([429])
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0).failed == 1
    status, retry_after = db.execute("SELECT status, retry_after FROM deliveries").fetchone()
    assert (status, retry_after) == (429, 7200.0)
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0 + timedelta(minutes=90)).attempted == 0
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0 + timedelta(hours=3)).delivered == 1


@pytest.mark.parametrize(("token", "channel", "fix"), [
    ("xoxb-wrong-t0ken-value", CHANNEL, "check the target's token"),
    (TOKEN, "C999NOPE", "channel C999NOPE was not found: check the target's channel"),
])
def test_invalid_auth_and_unknown_channel_are_dead_at_once(db, slack_api, token, channel, fix):
    first_story(db, {"maritime-disputes": ["slack"]})
    report = deliver_due(db, {"slack": bot(slack_api, token=token, channel=channel)}, now=T0)
    assert (report.attempted, report.dead) == (1, 1)
    error = outbox_summary(db)["slack"]["last_error"]
    assert fix in error and token not in error
    with pytest.raises(DeliveryError) as excinfo:
        send_test_alert(bot(slack_api, token=token, channel=channel))
    assert excinfo.value.retryable is False and fix in str(excinfo.value)


def test_ok_false_with_http_200_is_a_failure(db, slack_api):
    first_story(db, {"maritime-disputes": ["slack"]})
    slack_api.script(["not_in_channel", "internal_error"])
    assert deliver_due(db, {"slack": bot(slack_api)}, now=T0).dead == 1
    assert "invite it" in outbox_summary(db)["slack"]["last_error"]
    with pytest.raises(DeliveryError) as excinfo:
        send_test_alert(bot(slack_api))
    assert excinfo.value.retryable is True and excinfo.value.status == 200


def test_the_token_never_reaches_logs_errors_or_the_database(db, db_path, slack_api, caplog):
    echo = slack_api.routes["/api/chat.postMessage"]

    def leaky(request: Request) -> Response:  # a hostile or broken server echoing what it got
        if request.headers.get("authorization") == f"Bearer {TOKEN}" and slack_api.posts:
            body = json.dumps({"ok": False, "error": f"invalid_auth {request.headers['authorization']}"})
            return Response(200, body.encode(), {"Content-Type": "application/json"})
        return echo(request)

    slack_api.route("/api/chat.postMessage", leaky)
    first_story(db, {"maritime-disputes": ["slack"]})
    with caplog.at_level(logging.DEBUG):
        deliver_due(db, {"slack": bot(slack_api)}, now=T0)
        copy_from(db, "cna")
        process_new_articles(db, keyword_match, {"maritime-disputes": ["slack"]}, now=LATER)
        assert deliver_due(db, {"slack": bot(slack_api)}, now=LATER).dead == 1
        with pytest.raises(DeliveryError) as excinfo:
            send_test_alert(bot(slack_api, token="xoxb-" + TOKEN[5:] + "-x"))
        repr(bot(slack_api))
    assert TOKEN not in caplog.text and TOKEN[5:] not in str(excinfo.value)
    assert TOKEN not in repr(bot(slack_api))
    db.conn.commit()
    dump = "\n".join(open_store(db_path).conn.iterdump())
    assert "invalid_auth" in dump and TOKEN not in dump


def write_config(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"targets:\n{target}\nwatchlists: []\n", encoding="utf-8")
    return path


def test_config_bot_token_mode(tmp_path):
    path = write_config(tmp_path, "  - {name: s, kind: slack, token: '${SLACK_BOT_TOKEN}', channel: C0123ABCD,"
                                  " api_url: 'http://127.0.0.1:9/api'}")
    config = load_config(path, {"SLACK_BOT_TOKEN": TOKEN})
    spec = config.targets["s"]
    assert (spec.token, spec.channel, spec.api_url, spec.url, spec.threads) == (
        TOKEN, "C0123ABCD", "http://127.0.0.1:9/api", None, True)
    assert TOKEN not in repr(config)
    default = write_config(tmp_path, "  - {name: s, kind: slack, token: '${SLACK_BOT_TOKEN}', channel: C1}")
    assert load_config(default, {"SLACK_BOT_TOKEN": TOKEN}).targets["s"].api_url == "https://slack.com/api"
    assert load_config(default, {}).disabled_targets == {"s": "SLACK_BOT_TOKEN not set in the environment"}


@pytest.mark.parametrize(("target", "problem"), [
    ("  - {name: s, kind: slack, url: 'https://hooks.slack.com/x', token: t0k3n-abc, channel: C1}", "not both"),
    ("  - {name: s, kind: slack, token: t0k3n-abc}", "not both"),
    ("  - {name: s, kind: webhook, url: 'https://x.example/h', token: t0k3n-abc}", "slack targets only"),
    ("  - {name: s, kind: slack, token: t0k3n-abc, channel: C1, api_url: 'ftp://x'}", "api_url must start"),
])
def test_config_rejects_mixed_or_incomplete_slack_modes(tmp_path, target, problem):
    with pytest.raises(ConfigError) as excinfo:
        load_config(write_config(tmp_path, target), {})
    assert problem in str(excinfo.value) and "t0k3n-abc" not in str(excinfo.value)
