"""Quality gate: the default watchlists on labels-dev stay above the floors in bench/baseline.json."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, need

ROOT = Path(__file__).resolve().parents[2]
FLOORS = json.loads((ROOT / "bench" / "baseline.json").read_text(encoding="utf-8"))["watchlists"]


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("eval_watchlists", ROOT / "bench" / "eval_watchlists.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scores() -> dict:  # type: ignore[type-arg]
    need(CORPUS / "news" / "labels-dev.jsonl")
    bench = _bench()
    items = bench.load_items(CORPUS / "news")
    return {"rules": bench.evaluate(items), "keywords": bench.evaluate_baseline(items)}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_default_watchlist_meets_floors(scores: dict, name: str) -> None:  # type: ignore[type-arg]
    got = scores["rules"][name]
    for metric, floor in FLOORS[name].items():
        assert getattr(got, metric) >= floor, f"{name} {metric} {getattr(got, metric):.3f} < floor {floor}"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_rules_beat_the_keyword_baseline(scores: dict, name: str) -> None:  # type: ignore[type-arg]
    assert scores["rules"][name].f1 > scores["keywords"][name].f1
