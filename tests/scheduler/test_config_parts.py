"""The parts of config loading after the one-validation refactor: tuple key paths from alerts, the
matcher kept in the Config, targets as a union by kind, and values that used to crash the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts import Matcher, WatchlistError, load_gazetteer, parse_routed_watchlists, parse_watchlists
from scheduler.config import ConfigError, load_config
from scheduler.tasks import match_documents

CONFIG = """\
database: nw.db
sources:
  - {name: a, kind: feed, url: "https://x.example/feed", every: 5m}
targets:
  - {name: hook, kind: webhook, url: "https://hooks.example/h"}
watchlists:
  - name: w
    targets: [hook]
    rules: [{name: r, any: [shoal]}]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_watchlist_errors_carry_a_tuple_key_path() -> None:
    with pytest.raises(WatchlistError) as caught:
        parse_watchlists([{"name": "w", "rules": [{"name": "r", "any": ["a"]}, {"any": ["b", {"all": [1]}]}]}])
    assert caught.value.loc == ("watchlists", 0, "rules", 1, "any", 1, "all", 0)
    assert caught.value.path == "watchlists[0].rules[1].any[1].all[0]"


def test_route_and_gazetteer_errors_carry_a_tuple_key_path() -> None:
    with pytest.raises(WatchlistError) as caught:
        parse_routed_watchlists([{"name": "w", "targets": ["a", {"target": "b", "digest": "weekly"}],
                                  "rules": [{"any": ["x"]}]}])
    assert caught.value.loc == ("watchlists", 0, "targets", 1, "digest")
    with pytest.raises(WatchlistError) as caught:
        load_gazetteer([{"id": "x", "type": "sea", "aliases": {"en": ["ok", ""]}}])
    assert caught.value.loc == ("gazetteer", 0, "aliases", "en", 1)


def test_the_config_keeps_the_matcher_it_compiled_and_the_dry_run_uses_it(tmp_path: Path) -> None:
    from alerts import Document

    config = load_config(_write(tmp_path, CONFIG), environ={})
    assert isinstance(config.matcher, Matcher)
    [verdicts] = list(match_documents(config, [Document(title="Ships at the shoal")]))
    assert [(v.watchlist, v.matched) for v in verdicts] == [("w", True)]


def test_a_config_without_watchlists_has_a_matcher_too(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, CONFIG.split("watchlists:")[0]), environ={})
    assert isinstance(config.matcher, Matcher) and config.watchlists == ()


def test_a_duration_given_as_a_list_is_reported_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG.replace("every: 5m", "every: [5m]"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert f"{path}:3 sources[0].every: ['5m'] is not a duration; write it like 30s, 5m, 1h or 1d" in str(caught.value)


@pytest.mark.parametrize("target", [
    '{name: hook, kind: slack, url: "https://hooks.example/h", secret: s}',
    '{name: hook, kind: webhook, url: "https://hooks.example/h", smtp: {host: x}}',
    '{name: hook, kind: email, smtp: {host: x}, from: a@x.example, to: [b@x.example], secret: s}',
])
def test_a_key_of_another_kind_of_target_is_reported_at_its_line(tmp_path: Path, target: str) -> None:
    path = _write(tmp_path, CONFIG.replace('{name: hook, kind: webhook, url: "https://hooks.example/h"}', target))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"NOT_USED": ""})
    leaf = "smtp" if "webhook" in target else "secret"
    assert f"{path}:5 targets[0].{leaf}: unknown key '{leaf}'" in str(caught.value)


def test_an_unknown_target_kind_names_the_kinds(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG.replace("kind: webhook", "kind: pager"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert (f"{path}:5 targets[0].kind: Input should be 'slack', 'webhook', 'email' or 'apprise'"
            in str(caught.value))
