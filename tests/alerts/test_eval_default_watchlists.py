"""Quality gate: the default watchlists stay above the floors in bench/baseline.json — on labels-dev, on
the held-out labels (bench/labels/*.jsonl, never looked at while writing the rules), pooled and cross-split.

Reads ../shared/corpus/news (the text joined to the labels by id); skips when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import load_bench
from tests.conftest import CORPUS, need

ROOT = Path(__file__).resolve().parents[2]
bench = load_bench("eval_watchlists")
BASELINE = bench.load_baseline(ROOT / "bench" / "baseline.json")
FLOORS = BASELINE["watchlists"]
ALL_FLOORS = bench.floors(BASELINE)
HELD_OUT_FLOORS = sorted((scope, name) for scope, lists in ALL_FLOORS.items() if scope != "labels-dev"
                         for name in lists)


def _need_corpus() -> None:
    need(CORPUS / "news" / "labels-dev.jsonl")
    need(CORPUS / "news" / "rss_link_database_2024.jsonl")


@pytest.fixture(scope="module")
def scores() -> dict:  # type: ignore[type-arg]
    need(CORPUS / "news" / "labels-dev.jsonl")
    items = bench.load_items(CORPUS / "news")
    return {"rules": bench.evaluate(items), "keywords": bench.evaluate_baseline(items)}


@pytest.fixture(scope="module")
def default_run() -> tuple[list, dict]:  # type: ignore[type-arg]
    _need_corpus()
    texts = bench.load_texts(CORPUS / "news")
    files = [bench.read_label_file(path, texts)
             for path in bench.default_label_paths(CORPUS / "news", ROOT / "bench" / "labels")]
    scopes = bench.measure(files, bench.seen_while_writing_rules(BASELINE))
    return files, {scope.name: scope for scope in scopes}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_default_watchlist_meets_floors(scores: dict, name: str) -> None:  # type: ignore[type-arg]
    got = scores["rules"][name]
    for metric, floor in FLOORS[name].items():
        assert getattr(got, metric) >= floor, f"{name} {metric} {getattr(got, metric):.3f} < floor {floor}"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_rules_beat_the_keyword_baseline(scores: dict, name: str) -> None:  # type: ignore[type-arg]
    assert scores["rules"][name].f1 > scores["keywords"][name].f1


@pytest.mark.parametrize(("scope", "name"), HELD_OUT_FLOORS)
def test_held_out_pooled_and_cross_split_figures_meet_floors(default_run: tuple, scope: str,  # type: ignore[type-arg]
                                                             name: str) -> None:
    got = default_run[1][scope].rules[name]
    for metric, floor in ALL_FLOORS[scope][name].items():
        assert getattr(got, metric) >= floor, f"{scope} {name} {metric} {getattr(got, metric):.3f} < floor {floor}"


def test_cross_split_is_every_labelled_item_outside_labels_dev(default_run: tuple) -> None:  # type: ignore[type-arg]
    files, scopes = default_run
    dev_ids = {item.id for f in files if f.name == "labels-dev" for item in f.items}
    others = {item.id for f in files if f.name != "labels-dev" for item in f.items}
    assert len(dev_ids) == 363 and "rss2024" in [f.name for f in files]
    assert scopes["cross-split"].items == len(others - dev_ids) >= 1666
    assert scopes["cross-split"].held_out
    assert scopes["pooled"].items == len(dev_ids | others)


def test_the_default_report_lists_no_held_out_item(capsys: pytest.CaptureFixture[str]) -> None:
    _need_corpus()
    assert bench.main(["--check"]) == 0
    printed = capsys.readouterr().out
    assert "cross-split figure" in printed and "RSS 2024" in printed
    assert "labels-dev maritime-disputes: false positives" in printed
    assert "rss2024-" not in printed  # held-out ids appear only with --show-held-out-errors


def test_check_fails_when_a_watchlist_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _need_corpus()
    config = tmp_path / "config.yaml"
    config.write_text("watchlists:\n  - name: maritime-disputes\n    rules:\n      - any: [shoal]\n",
                      encoding="utf-8")
    assert bench.main(["--check", "--quiet", "--config", str(config)]) == 1
    assert "BELOW FLOOR: cross-split arms-deals: not scored" in capsys.readouterr().err
