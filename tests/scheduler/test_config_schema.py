"""`newswatch config schema`: the JSON Schema an editor checks config.yaml with.

The shipped config.yaml, with its `5m` durations, `${VAR}` values (a port among them) and rule
language, must validate as it is; a misspelt key or an unknown target kind must not.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from scheduler.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["config", "schema", "--config", str(ROOT / "config.yaml")])
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(printed)
    return printed


@pytest.fixture
def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return data


def _problems(schema: dict[str, Any], data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def test_the_shipped_config_validates_against_the_printed_schema(schema: dict[str, Any],
                                                                  shipped: dict[str, Any]) -> None:
    smtp = shipped["targets"][1]["smtp"]
    assert smtp["port"].startswith("${") and shipped["sources"][0]["every"] == "5m"  # what makes this test bite
    assert _problems(schema, shipped) == []


def test_the_schema_has_titles_and_descriptions(schema: dict[str, Any]) -> None:
    assert schema["title"] == "newswatch configuration"
    assert schema["properties"]["sources"]["description"] == "what to crawl"
    assert "Watchlist" in json.dumps(schema["$defs"])


def test_the_config_files_target_names_are_offered_for_completion(schema: dict[str, Any]) -> None:
    names = ["slack-analysts", "email-analysts", "webhook-archive"]
    assert json.dumps(names) in json.dumps(schema["$defs"]["OperationsModel"])
    assert json.dumps(names) in json.dumps(schema["$defs"]["RouteModel"])


def test_without_a_config_file_the_schema_is_the_generic_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "schema", "--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 0 and "slack-analysts" not in result.output
    assert json.loads(result.stdout)["title"] == "newswatch configuration"


@pytest.mark.parametrize(("change", "where"), [
    (lambda c: c["sources"][0].update(evry="5m"), "sources/0"),
    (lambda c: c["sources"][0].update(every="soon"), "sources/0/every"),
    (lambda c: c["targets"][0].update(kind="pager"), "targets/0"),
    (lambda c: c["targets"][2].update(smtp={"host": "x"}), "targets/2"),  # smtp belongs to email targets
    (lambda c: c["watchlists"][0].update(colour="red"), "watchlists/0"),
    (lambda c: c["watchlists"][0]["targets"].append({"target": "x", "digest": "weekly"}),
     "watchlists/0/targets/3"),
    (lambda c: c.update(gazetteer=[{"id": "Bad Id", "aliases": ["x"]}]), "gazetteer/0/id"),
    (lambda c: c.update(crawl={"concurrent_request": 4}), "crawl"),
])
def test_mistakes_do_not_validate(schema: dict[str, Any], shipped: dict[str, Any], change: Any,
                                  where: str) -> None:
    broken = copy.deepcopy(shipped)
    change(broken)
    problems = _problems(schema, broken)
    assert any(p.startswith(where) for p in problems), problems
