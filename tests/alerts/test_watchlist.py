"""The watchlist language: parsing into frozen values and validation errors (message + path)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.errors import WatchlistError
from alerts.match.watchlist import Group, Term, parse_term, parse_watchlists

ROOT = Path(__file__).resolve().parents[2]


def _wl(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "w", "targets": [], "rules": [{"name": "r", "any": ["x"]}]}
    base.update(extra)
    return base


@pytest.mark.parametrize(
    ("raw", "term"),
    [
        ("water cannon", Term("water cannon")),
        ("militar*", Term("militar", prefix=True)),
        ("PLA", Term("PLA", case_sensitive=True)),
        ("F-16", Term("F-16", case_sensitive=False)),
        ("Navy", Term("Navy")),
        ("@senkaku", Term("senkaku", entity="senkaku")),
        ("arms sale*^2.5", Term("arms sale", 2.5, prefix=True)),
        ({"term": "Aegis", "case": True, "weight": 2}, Term("Aegis", 2.0, case_sensitive=True)),
        ({"term": "PLAN", "case": False}, Term("PLAN")),
    ],
)
def test_term_syntax(raw: Any, term: Term) -> None:
    assert parse_term(raw, "t") == term


def test_default_config_watchlists_parse() -> None:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    specs = parse_watchlists(raw["watchlists"])
    assert [s.name for s in specs] == ["maritime-disputes", "arms-deals"]
    for spec in specs:
        assert spec.targets == ("slack-analysts", "email-analysts", "webhook-archive")
        assert spec.threshold > 0 and spec.rules


def test_spec_is_frozen_and_keeps_structure() -> None:
    [spec] = parse_watchlists(
        [
            _wl(
                threshold=2.5,
                fields={"title": 3},
                sets={"boats": ["ship*", "vessel*"]},
                rules=[
                    {
                        "name": "r",
                        "weight": 2,
                        "all": [
                            "$boats",
                            {"any": ["rammed", "water cannon"], "min": 1},
                            {"none": ["exercise"]},
                        ],
                        "near": "sentence",
                    }
                ],
                exclude=[{"terms": ["arms"], "context": ["legs"], "near": 3}],
                none=["Joe Scarborough"],
            )
        ]
    )
    assert spec.threshold == 2.5
    assert spec.field_weights == (3.0, 1.5, 1.0)
    rule = spec.rules[0]
    assert rule.weight == 2 and rule.group.op == "all" and rule.group.near == "sentence"
    assert rule.group.items[0] == Group("any", (Term("ship", prefix=True), Term("vessel", prefix=True)))
    assert spec.exclude[0].near == 3 and spec.exclude[0].context == (Term("legs"),)
    assert len(spec.veto) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        ([_wl(colour="red")], "watchlists[0].colour", "unknown key 'colour'"),
        ([_wl(name="has space")], "watchlists[0].name", "must be letters"),
        ([_wl(), _wl()], "watchlists[1].name", "used twice"),
        ([_wl(targets="slack")], "watchlists[0].targets", "list of target names"),
        ([_wl(threshold=0)], "watchlists[0].threshold", "greater than 0"),
        ([_wl(threshold="high")], "watchlists[0].threshold", "must be a number"),
        ([_wl(rules=[])], "watchlists[0].rules", "non-empty list"),
        (
            [_wl(rules=[{"name": "r", "any": ["a"], "all": ["b"]}])],
            "watchlists[0].rules[0]",
            "exactly one of",
        ),
        (
            [_wl(rules=[{"name": "r", "any": ["a", "b"], "near": 3}])],
            "watchlists[0].rules[0].near",
            "'all' groups",
        ),
        (
            [_wl(rules=[{"name": "r", "all": ["a", "b"], "near": "paragraph"}])],
            "watchlists[0].rules[0].near",
            "number of words",
        ),
        ([_wl(rules=[{"name": "r", "all": ["a"], "near": 2}])], "watchlists[0].rules[0].all", "at least two"),
        ([_wl(rules=[{"name": "r", "none": ["a"]}])], "watchlists[0].rules[0].none", "cannot be only 'none'"),
        (
            [_wl(rules=[{"name": "r", "any": ["a"]}, {"name": "r", "any": ["b"]}])],
            "watchlists[0].rules[1].name",
            "used twice",
        ),
        (
            [_wl(rules=[{"name": "r", "any": ["a"], "weight": -1}])],
            "watchlists[0].rules[0].weight",
            "greater than",
        ),
        ([_wl(rules=[{"name": "r", "any": ["mil*tary"]}])], "watchlists[0].rules[0].any[0]", "may only end"),
        ([_wl(rules=[{"name": "r", "any": ["ok", ""]}])], "watchlists[0].rules[0].any[1]", "empty term"),
        (
            [_wl(rules=[{"name": "r", "any": ["@Senkaku Islands"]}])],
            "watchlists[0].rules[0].any[0]",
            "gazetteer id",
        ),
        ([_wl(rules=[{"name": "r", "any": ["$ships"]}])], "watchlists[0].rules[0].any[0]", "unknown set"),
        (
            [_wl(rules=[{"name": "r", "all": ["a", {"any": ["b"], "colour": 1}]}])],
            "watchlists[0].rules[0].all[1].colour",
            "unknown key",
        ),
        (
            [_wl(rules=[{"name": "r", "any": ["a", "b"], "min": 3}])],
            "watchlists[0].rules[0].min",
            "from 1 to 2",
        ),
        ([_wl(fields={"headline": 2})], "watchlists[0].fields.headline", "unknown key"),
        ([_wl(exclude=[{"terms": ["arms"]}])], "watchlists[0].exclude[0]", "needs 'context'"),
        (
            [_wl(exclude=[{"terms": [{"all": ["a", "b"]}], "context": ["x"]}])],
            "watchlists[0].exclude[0].terms",
            "only terms",
        ),
        (
            [_wl(rules=[{"name": "r", "any": [{"term": "x", "weight": 0}]}])],
            "watchlists[0].rules[0].any[0].weight",
            "greater than",
        ),
    ],
)
def test_validation_errors_name_the_path_and_the_fix(
    raw: list[dict[str, Any]], path: str, words: str
) -> None:
    with pytest.raises(WatchlistError) as err:
        parse_watchlists(raw)
    assert err.value.path == path
    assert words in err.value.detail
    assert str(err.value).startswith(path)


def test_targets_may_be_empty_and_threshold_defaults() -> None:
    [spec] = parse_watchlists([{"name": "w", "targets": [], "rules": [{"any": ["x"]}]}])
    assert spec.targets == () and spec.threshold == 1.0 and spec.rules[0].name == "rule-1"
