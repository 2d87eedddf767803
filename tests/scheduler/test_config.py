"""Loading config.yaml: the shipped default, ${VAR} substitution, and errors a person can act on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from scheduler.config import ConfigError, load_config, parse_duration

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT = ROOT / "config.yaml"

MINIMAL = """\
database: data/nw.db
sources:
  - name: feed-a
    kind: feed
    url: https://example.org/feed.xml
    every: 90s
targets:
  - name: slack-ops
    kind: slack
    url: ${SLACK_URL}
  - name: mail
    kind: email
    smtp: {host: smtp.example.org, port: 465, ssl: true, username: bot, password: "${SMTP_PASSWORD}"}
    from: bot@example.org
    to: [a@example.org]
watchlists: []
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_is_valid_and_runs_without_any_secret_set() -> None:
    config = load_config(DEFAULT, environ={})
    assert len(config.sources) >= 8
    assert {w.name for w in config.watchlists} == {"maritime-disputes", "arms-deals"}
    assert config.targets == {}, "targets without their variables are switched off, not errors"
    assert set(config.disabled_targets) == {"slack-analysts", "email-analysts", "webhook-archive"}
    assert "NEWSWATCH_SLACK_WEBHOOK_URL" in config.disabled_targets["slack-analysts"]
    assert config.database == ROOT / "newswatch.db"


def test_variables_are_substituted_and_relative_database_is_next_to_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    config = load_config(path, environ={"SLACK_URL": "https://hooks.example/T1", "SMTP_PASSWORD": "pw#1: x"})
    assert config.targets["slack-ops"].url == "https://hooks.example/T1"
    smtp = config.targets["mail"].smtp
    assert smtp is not None and smtp.password == "pw#1: x" and smtp.ssl and smtp.port == 465
    assert config.database == tmp_path / "data" / "nw.db"
    assert config.sources[0].every_seconds == 90


def test_environment_overrides_the_database(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    config = load_config(path, environ={"NEWSWATCH_DATABASE": str(tmp_path / "other.db")})
    assert config.database == tmp_path / "other.db"


def test_every_problem_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace("every: 90s", "every: often").replace("kind: feed", "kind: rss")
                  .replace("watchlists: []", "watchlists: []\nsurprise: 1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert f"{path}:4 sources[0].kind" in message
    assert f"{path}:6 sources[0].every" in message and "30s, 5m, 1h or 1d" in message
    assert f"{path}:17 surprise" in message and "unknown key" in message


def test_watchlist_naming_an_undefined_target_is_an_error(tmp_path: Path) -> None:
    text = DEFAULT.read_text(encoding="utf-8").replace("slack-analysts", "slack-analysis", 1)
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), environ={})
    assert "names target 'slack-analysts', which is not defined" in str(caught.value)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "database: x.db\nsources:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert f"{path}:4" in str(caught.value) or f"{path}:3" in str(caught.value)
    assert "not valid YAML" in str(caught.value)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_secrets_never_appear_in_errors_or_reprs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "hunter2-very-secret"
    bad = MINIMAL.replace("url: ${SLACK_URL}", "url: ${SLACK_URL}\n    timeout: -1")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, bad), environ={"SLACK_URL": f"https://x/{secret}", "SMTP_PASSWORD": secret})
    assert secret not in str(caught.value)
    config = load_config(_write(tmp_path, MINIMAL), environ={"SLACK_URL": f"https://x/{secret}",
                                                             "SMTP_PASSWORD": secret})
    assert secret not in repr(config.targets) and secret not in repr(config)
    assert secret not in caplog.text


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), (45, 45)])
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "soon", "-5m", "5 weeks"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_crawl_options_are_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "crawl:\n  download_timeout: -3\n  concurrent_request: 4\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert "unknown crawl option 'concurrent_request'" in message and "concurrent_requests" in message
    assert "download_timeout must be positive" in message


def test_unset_variable_in_a_port_disables_the_target_with_one_info_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scheduler.config")
    text = MINIMAL.replace("port: 465", "port: \"${SMTP_PORT}\"")
    config = load_config(_write(tmp_path, text), environ={"SLACK_URL": "https://hooks.example/T1",
                                                          "SMTP_PASSWORD": "pw"})
    assert "mail" not in config.targets and "slack-ops" in config.targets
    assert "SMTP_PORT not set" in config.disabled_targets["mail"]
    lines = [r.getMessage() for r in caplog.records if "mail" in r.getMessage()]
    assert len(lines) == 1 and "SMTP_PORT" in lines[0] and caplog.records[0].levelname == "INFO"


def test_empty_variable_is_named_and_disables_a_target(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL), environ={"SLACK_URL": "", "SMTP_PASSWORD": "pw"})
    assert config.disabled_targets["slack-ops"] == "SLACK_URL set but empty"
    text = MINIMAL.replace("url: https://example.org/feed.xml", "url: ${FEED_URL}")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), environ={"FEED_URL": ""})
    message = str(caught.value)
    assert f"{tmp_path / 'config.yaml'}:5 sources[0].url" in message and "${FEED_URL} is set but empty" in message


def test_a_type_error_in_a_value_from_a_variable_names_the_variable_not_the_value(tmp_path: Path) -> None:
    secret = "SECRET-interval-value"
    text = MINIMAL.replace("every: 90s", "every: ${EVERY}")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), environ={"EVERY": secret})
    message = str(caught.value)
    assert "sources[0].every" in message and "from ${EVERY}" in message
    assert "SECRET" not in message


def test_check_config_lists_every_problem_including_selector_log_level_and_watchlists(tmp_path: Path) -> None:
    text = MINIMAL.replace("every: 90s", "every: often").replace(
        "    every: often\n",
        "    every: often\n  - {name: page, kind: listing, url: 'https://example.org/', link_selector: 'h3 >> a['}\n",
    ).replace("watchlists: []", "watchlists:\n  - name: w1\n    rules:\n      - {name: r1, any: [a], near: 2}\n"
              "      - {name: r2, all: [b], min: 1}\n  - name: w2\n    threshold: -1\n    rules: [{any: [c]}]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), environ={"NEWSWATCH_LOG_LEVEL": "LOUD"})
    message = str(caught.value)
    assert "sources[0].every" in message
    assert "sources[1].link_selector" in message and "not a valid CSS selector" in message
    assert "watchlists[0].rules[0].near" in message and "watchlists[0].rules[1].min" in message
    assert "watchlists[1].threshold" in message
    # With the file itself valid, the environment is checked too.
    fixed = text.replace("every: often", "every: 90s").replace("link_selector: 'h3 >> a['", "link_selector: 'h3 a'")
    with pytest.raises(ConfigError, match=r"NEWSWATCH_LOG_LEVEL.*'LOUD' is not a log level"):
        load_config(_write(tmp_path, fixed.split("watchlists:")[0] + "watchlists: []\n"),
                    environ={"NEWSWATCH_LOG_LEVEL": "LOUD"})


def test_unknown_entity_points_at_the_term_and_suggests_close_ids(tmp_path: Path) -> None:
    text = MINIMAL.replace("watchlists: []", "watchlists:\n  - name: w1\n    rules:\n      - name: r1\n"
                           "        all:\n          - dispute\n          - any:\n              - \"@senkaku\"\n"
                           "              - \"@scarborogh-shoal\"\n")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert f"{path}:24 watchlists[0].rules[0].all[1].any[1]: unknown entity @scarborogh-shoal" in message
    assert "did you mean @scarborough-shoal" in message


def test_short_values_from_variables_are_not_echoed_either(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "crawl:\n  download_timeout: \"${TIMEOUT}\"\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"TIMEOUT": "xyz"})
    assert "crawl.download_timeout" in str(caught.value) and "xyz" not in str(caught.value)


def test_empty_log_level_variable_counts_as_unset(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL), environ={"NEWSWATCH_LOG_LEVEL": ""})
    assert config.log_level == "INFO"


def test_unset_or_empty_variables_outside_targets_are_named_at_their_key(tmp_path: Path) -> None:
    header = "    headers: {Authorization: \"Bearer ${FEED_TOKEN}\"}\n"
    text = MINIMAL.replace("    every: 90s\n", "    every: 90s\n" + header)
    path = _write(tmp_path, text.replace("database: data/nw.db", "database: ${DB_FILE}"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"DB_FILE": ""})
    message = str(caught.value)
    assert f"{path}:7 sources[0].headers.Authorization: ${{FEED_TOKEN}} is not set" in message
    assert f"{path}:1 database: ${{DB_FILE}} is set but empty" in message


def test_every_bad_gazetteer_entry_is_reported(tmp_path: Path) -> None:
    text = MINIMAL + ("gazetteer:\n  - {id: Bad Id, type: state, aliases: [x]}\n"
                      "  - {id: fine, type: state, aliases: [y]}\n  - {id: other, type: planet, aliases: [z]}\n")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert f"{path}:18 gazetteer[0].id" in message and f"{path}:20 gazetteer[2].type" in message
