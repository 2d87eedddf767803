"""Routes: the mapping form of watchlist targets, min_outlets, config loading, Slack digest limits."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from alerts.channels.slack import slack_digest_payload
from alerts.delivery.digest import Digest
from alerts.delivery.messages import sample_alert
from alerts.delivery.models import DigestSchedule, QuietHours, RateLimit, RouteSpec
from alerts.errors import WatchlistError
from alerts.match.watchlist import parse_watchlists
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from scheduler.config import load_config
from scheduler.errors import ConfigError
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.alerts.test_pipeline import BODY

RULES = [{"name": "r", "any": ["shoal"]}]


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def watchlist(**extra) -> dict:
    return {"name": "w", "rules": RULES, **extra}


def test_targets_may_be_names_or_mappings():
    (spec,) = parse_watchlists([watchlist(min_outlets=2, targets=[
        "slack",
        {"target": "mail", "digest": "daily", "at": "08:00", "timezone": "Asia/Manila"},
        {"target": "hook", "digest": "hourly", "min_outlets": 1},
        {"target": "ops"},
    ])])
    assert spec.targets == ("slack", "mail", "hook", "ops")
    assert spec.min_outlets == 2
    assert spec.route_specs() == (
        RouteSpec("slack", None, 2),
        RouteSpec("mail", DigestSchedule("daily", time(8, 0), "Asia/Manila"), 2),
        RouteSpec("hook", DigestSchedule("hourly", None, "UTC"), 1),
        RouteSpec("ops", None, 2),
    )
    (plain,) = parse_watchlists([watchlist(targets=["slack"])])
    assert plain.route_specs() == (RouteSpec("slack"),)


@pytest.mark.parametrize(("targets", "path", "message"), [
    ([{"target": "m", "digest": "weekly"}], "watchlists[0].targets[0].digest", "hourly or daily"),
    ([{"target": "m", "digest": "daily"}], "watchlists[0].targets[0].at", 'needs at: "HH:MM"'),
    ([{"target": "m", "digest": "daily", "at": "25:00"}], "watchlists[0].targets[0].at", "HH:MM"),
    ([{"target": "m", "digest": "hourly", "at": "08:00"}], "watchlists[0].targets[0].at", "daily digests"),
    ([{"target": "m", "digest": "daily", "at": "08:00", "timezone": "Asia/Nowhere"}],
     "watchlists[0].targets[0].timezone", "unknown time zone"),
    (["s", {"target": "m", "at": "08:00"}], "watchlists[1 - 1].targets[1].at", "applies to digests"),
    ([{"digest": "daily"}], "watchlists[0].targets[0].target", "needs 'target'"),
    ([{"target": "m", "every": "day"}], "watchlists[0].targets[0].every", "unknown key"),
    ([{"target": "m", "min_outlets": 0}], "watchlists[0].targets[0].min_outlets", "1 or more"),
    (["m", "m"], "watchlists[0].targets[1]", "listed twice"),
    ([42], "watchlists[0].targets[0]", "a name or a mapping"),
    ("slack", "watchlists[0].targets", "must be a list"),
])
def test_bad_routes_are_reported_with_their_path(targets, path, message):
    with pytest.raises(WatchlistError) as excinfo:
        parse_watchlists([watchlist(targets=targets)])
    assert excinfo.value.path == path.replace("[1 - 1]", "[0]")
    assert message in excinfo.value.detail


def test_bad_min_outlets_is_reported():
    with pytest.raises(WatchlistError) as excinfo:
        parse_watchlists([watchlist(min_outlets="two")])
    assert excinfo.value.path == "watchlists[0].min_outlets"


def test_min_outlets_waits_for_a_second_outlet_then_alerts_once(db):
    routes = {"maritime-disputes": [RouteSpec("hook", min_outlets=2)], "arms-deals": ["hook"]}
    maritime = BODY.replace("defence equipment", "goods")
    add_article(db, "https://a.example/1", "Japan, Vietnam sign deal", maritime, source="scmp")
    report = process_new_articles(db, keyword_match, routes, now=T0)
    assert (report.alerts_enqueued, report.alerts_waiting) == (0, 1)
    add_article(db, "https://a.example/2", "Japan, Vietnam sign deal", maritime + " Updated.", source="scmp")
    report = process_new_articles(db, keyword_match, routes, now=T0 + timedelta(minutes=5))
    assert (report.stories_joined, report.alerts_enqueued, report.alerts_waiting) == (1, 0, 1)
    # A second outlet's copy — matching only arms-deals — sets off the waiting maritime-disputes alert.
    add_article(db, "https://b.example/copy", "Japan, Vietnam sign deal",
                "Japan and Vietnam signed a deal enabling exports of Japanese-made defence equipment. "
                "The accord was signed in Hanoi during the minister's first trip overseas.", source="cna")
    report = process_new_articles(db, keyword_match, routes, now=T0 + timedelta(minutes=10))
    assert report.stories_joined == 1 and report.alerts_enqueued == 1
    (row,) = db.execute("SELECT watchlists FROM outbox").fetchall()
    assert row[0] == '["arms-deals", "maritime-disputes"]'
    add_article(db, "https://c.example/3", "Japan, Vietnam sign deal", maritime + " Third.", source="kyodo")
    report = process_new_articles(db, keyword_match, routes, now=T0 + timedelta(minutes=15))
    assert (report.alerts_enqueued, report.alerts_waiting) == (0, 0)
    assert db.execute("SELECT count(*) FROM story_alerts").fetchone()[0] == 2


def test_a_long_slack_digest_stays_within_slack_limits():
    base = sample_alert("slack")
    stories = tuple(base.__class__(**{**{f: getattr(base, f) for f in base.__slots__}, "story_id": n,
                                      "title": f"<!channel> story {n} " + "long " * 40, "test": False})
                    for n in range(1000))
    digest = Digest(key="nw-x", target="slack", created_at="2024-06-01T08:00:00+00:00",
                    due_at="2024-06-01T09:00:00+00:00", timezone="Asia/Tokyo", stories=stories,
                    reasons=("digest:hourly",), first_at="2024-06-01T08:00:00+00:00",
                    last_at="2024-06-01T08:59:00+00:00")
    payload = slack_digest_payload(digest)
    assert len(payload["blocks"]) <= 50
    texts = [b["text"]["text"] for b in payload["blocks"] if "text" in b]
    assert all(len(t) <= 3000 for t in texts)
    assert "<!channel>" not in "".join(texts)
    shown = sum(t.count("\n      ") for t in texts)
    more = payload["blocks"][-1]["elements"][0]["text"]
    assert more == f"… and {1000 - shown} more stories (`newswatch stories` lists them)"
    assert "Hourly digest: 1000 stories" in payload["text"]
    assert "2024-06-01 18:00 Asia/Tokyo" in payload["blocks"][1]["elements"][0]["text"]


CONFIG = """
targets:
  - name: slack
    kind: slack
    url: https://hooks.example/services/x
    quiet_hours: {start: "22:00", end: "07:00", timezone: Asia/Tokyo, min_score: 8}
    rate_limit: {max: 10, per: 1h}
  - name: mail
    kind: email
    smtp: {host: 127.0.0.1}
    from: nw@example.org
    to: [desk@example.org]
  - name: paused
    kind: webhook
    url: https://hooks.example/off
    enabled: false
watchlists:
  - name: w
    min_outlets: 2
    targets: [slack, {target: mail, digest: daily, at: "08:00", timezone: Asia/Manila}, paused]
    rules: [{name: r, any: [shoal]}]
"""


def test_config_carries_shaping_to_targets_and_routes(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path, environ={})
    assert config.targets["slack"].quiet_hours == QuietHours(time(22, 0), time(7, 0), "Asia/Tokyo", 8.0)
    assert config.targets["slack"].rate_limit == RateLimit(10, 3600)
    assert config.targets["mail"].quiet_hours is None and config.targets["mail"].rate_limit is None
    assert config.routes() == {"w": (RouteSpec("slack", None, 2),
                                     RouteSpec("mail", DigestSchedule("daily", time(8, 0), "Asia/Manila"), 2))}


@pytest.mark.parametrize(("change", "where", "message"), [
    ('start: "22:00"', 'start: "10pm"', "HH:MM"),
    ("timezone: Asia/Tokyo", "timezone: Tokyo", "unknown time zone"),
    ('end: "07:00"', 'end: "22:00"', "same time"),
    ("max: 10", "max: 0", "greater than or equal to 1"),
    ("per: 1h", "per: soon", "not a duration"),
])
def test_bad_target_shaping_is_reported_with_line_and_key(tmp_path, change, where, message):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace(change, where), encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    text = str(excinfo.value)
    assert "targets[0]." in text and message in text


def test_a_bad_route_in_config_points_at_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace('at: "08:00", ', 'at: "8 am", '), encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert "watchlists[0].targets[1].at" in str(excinfo.value)
