"""bench/eval_watchlists.py on tiny in-test data: families, per-file vs pooled counts, what is held out,
floors, and that held-out items are never listed one by one unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench import BENCH, TOY_CONFIG, load_bench

ev = load_bench("eval_watchlists")

# Invented headlines (not corpus text), scored with TOY_CONFIG.
TEXTS = {
    "agnews-test-00001": ("Navies face off at the shoal", ""),  # maritime: TP
    "agnews-test-00002": ("Shoal of fish seen off the coast", ""),  # maritime: FP
    "huffpost-aaaa": ("Country agrees to buy fighter jets", ""),  # arms: TP
    "rss2023-aaaa": ("Coast guards collide near disputed reef", ""),  # maritime: FN
    "rss2024-aaaa": ("Coast guard blocks resupply at the shoal", ""),  # maritime: TP
    "rss2024-bbbb": ("Air show dazzles with jets", ""),  # arms: FP
    "rss2024-cccc": ("Frigates sold to navy in new deal", ""),  # arms: FN
}
LABELS = {
    "agnews-test-00001": (True, False), "agnews-test-00002": (False, False), "huffpost-aaaa": (False, True),
    "rss2023-aaaa": (True, False), "rss2024-aaaa": (True, False), "rss2024-bbbb": (False, False),
    "rss2024-cccc": (False, True),
}


def _write(path: Path, ids: list[str]) -> Path:
    rows = [{"id": i, "maritime_dispute": LABELS[i][0], "arms_deal": LABELS[i][1]} for i in ids]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(TOY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> list:  # type: ignore[type-arg]
    dev = _write(tmp_path / "labels-dev.jsonl", ["agnews-test-00001", "agnews-test-00002", "huffpost-aaaa",
                                                 "rss2023-aaaa"])
    # The new file repeats one dev item: it was seen, so it is not held out.
    new = _write(tmp_path / "new2024.jsonl", ["rss2024-aaaa", "rss2024-bbbb", "rss2024-cccc", "rss2023-aaaa"])
    return [ev.read_label_file(dev, TEXTS), ev.read_label_file(new, TEXTS)]


@pytest.mark.parametrize(("item_id", "family"), [
    ("agnews-test-03573", "AG News 2004"), ("huffpost-39f276a04bda6989", "HuffPost 2018–22"),
    ("rss2023-1aa3cb34b38dee21", "RSS 2023"), ("rss2024-0023e3c39f1a6243", "RSS 2024"),
])
def test_family_comes_from_the_id_prefix(item_id: str, family: str) -> None:
    assert ev.family_of(item_id) == family


def test_an_unknown_prefix_is_an_error_naming_the_id() -> None:
    with pytest.raises(ValueError, match=r"'bbc-123'.*FAMILIES"):
        ev.family_of("bbc-123")


def test_label_files_are_named_and_joined_by_id(files: list) -> None:  # type: ignore[type-arg]
    assert [f.name for f in files] == ["labels-dev", "new2024"]
    assert files[1].items[0].title == "Coast guard blocks resupply at the shoal"
    assert files[1].items[0].labels == {"maritime-disputes": True, "arms-deals": False}


def test_a_bad_label_file_says_where(tmp_path: Path) -> None:
    twice = _write(tmp_path / "twice.jsonl", ["rss2024-aaaa", "rss2024-aaaa"])
    with pytest.raises(ValueError, match=r"twice.jsonl:2: id rss2024-aaaa appears twice"):
        ev.read_label_file(twice, TEXTS)
    with pytest.raises(ValueError, match="rss2024-aaaa is not in the corpus"):
        ev.read_label_file(_write(tmp_path / "orphan.jsonl", ["rss2024-aaaa"]), {})


def test_held_out_is_every_item_of_unseen_files_minus_seen_ids(files: list) -> None:  # type: ignore[type-arg]
    held = ev.held_out(files, {"labels-dev"})
    assert [item.id for item in held] == ["rss2024-aaaa", "rss2024-bbbb", "rss2024-cccc"]
    assert ev.held_out(files, {"labels-dev", "new2024"}) == []
    assert len(ev.held_out(files, set())) == 7  # nothing seen: every distinct item is held out


def test_pooled_counts_each_item_once(files: list) -> None:  # type: ignore[type-arg]
    assert len(ev.pooled(files)) == 7  # 4 + 4 with one id in both files


def test_pooled_refuses_conflicting_labels(tmp_path: Path, files: list) -> None:  # type: ignore[type-arg]
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"id": "rss2023-aaaa", "maritime_dispute": False, "arms_deal": False}) + "\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="rss2023-aaaa has different labels in labels-dev and other"):
        ev.pooled([*files, ev.read_label_file(path, TEXTS)])


def test_figures_per_file_family_pool_and_cross_split(files: list, config: Path) -> None:  # type: ignore[type-arg]
    scopes = {s.name: s for s in ev.measure(files, {"labels-dev"}, config)}
    counts = {name: {w: (s.tp, s.fp, s.fn) for w, s in scope.rules.items()} for name, scope in scopes.items()}
    assert counts["labels-dev"] == {"maritime-disputes": (1, 1, 1), "arms-deals": (1, 0, 0)}
    assert counts["labels-dev / AG News 2004"] == {"maritime-disputes": (1, 1, 0), "arms-deals": (0, 0, 0)}
    assert counts["labels-dev / RSS 2023"] == {"maritime-disputes": (0, 0, 1), "arms-deals": (0, 0, 0)}
    assert counts["new2024"] == {"maritime-disputes": (1, 0, 1), "arms-deals": (0, 1, 1)}
    # Pooled: the shared item (a maritime FN) counts once, not twice as the per-file sum would.
    assert counts["pooled"] == {"maritime-disputes": (2, 1, 1), "arms-deals": (1, 1, 1)}
    # Cross-split: the three new RSS 2024 items only, with their family.
    assert counts["cross-split"] == {"maritime-disputes": (1, 0, 0), "arms-deals": (0, 1, 1)}
    assert counts["cross-split / RSS 2024"] == counts["cross-split"]
    assert counts["dev"] == counts["labels-dev"]
    assert scopes["cross-split"].held_out and not scopes["new2024"].held_out
    assert scopes["cross-split"].rules["maritime-disputes"].f1 == 1.0
    assert scopes["pooled"].rules["maritime-disputes"].precision == pytest.approx(2 / 3)
    # The keyword query is scored on the same items.
    assert scopes["cross-split"].items == 3 and set(scopes["cross-split"].keywords) == {"maritime-disputes",
                                                                                        "arms-deals"}


def test_no_cross_split_when_everything_was_seen(files: list, config: Path) -> None:  # type: ignore[type-arg]
    scopes = ev.measure(files, {"labels-dev", "new2024"}, config)
    assert "cross-split" not in {s.name for s in scopes}
    assert "nothing is held out" in ev.render(scopes, files, {"labels-dev", "new2024"})


def test_errors_are_listed_for_dev_files_only(tmp_path: Path, config: Path) -> None:
    dev = ev.read_label_file(_write(tmp_path / "labels-dev.jsonl", ["agnews-test-00002"]), TEXTS)
    new = ev.read_label_file(_write(tmp_path / "new2024.jsonl", ["rss2024-bbbb", "rss2024-cccc"]), TEXTS)
    scopes = ev.measure([dev, new], {"labels-dev"}, config)
    # One family per file: no family rows for the files, but the cross-split always shows its families.
    assert {"new2024 / RSS 2024", "labels-dev / AG News 2004"}.isdisjoint(s.name for s in scopes)
    assert "cross-split / RSS 2024" in {s.name for s in scopes}
    listed = ev.render_errors(scopes, ["labels-dev", "new2024"])
    assert "agnews-test-00002" in listed
    assert "rss2024-" not in listed
    spent = ev.render_errors(scopes, ["labels-dev", "new2024"], held_out_too=True)
    assert "rss2024-bbbb" in spent and "rss2024-cccc" in spent
    assert "rss2024-" not in ev.render(scopes, [dev, new], {"labels-dev"})  # figures only


def test_an_f1_interval_holds_the_figure_and_narrows_as_the_set_grows() -> None:
    small = ev.Score(8, 2, 2, (), ())  # F1 0.8 on 100 items
    low, high = ev.f1_interval(small, 100)
    assert low < 0.8 < high
    big_low, big_high = ev.f1_interval(ev.Score(80, 20, 20, (), ()), 1000)  # the same rates, ten times the items
    assert low < big_low < 0.8 < big_high < high
    assert ev.f1_interval(small, 100) == (low, high)  # seeded: a rerun prints the same interval
    with pytest.raises(ValueError, match="cannot hold"):
        ev.f1_interval(small, 11)


def test_the_summary_gives_each_rules_figure_its_interval(files: list, config: Path) -> None:  # type: ignore[type-arg]
    scopes = ev.measure(files, {"labels-dev"}, config)
    text = ev.render(scopes, files, {"labels-dev"})
    line = next(row for row in text.splitlines() if "maritime-disputes  new2024" in row)
    low, high = ev.f1_interval(next(s for s in scopes if s.name == "new2024").rules["maritime-disputes"], 4)
    assert f"[{low:.3f}, {high:.3f}]" in line


def test_a_change_is_called_better_only_when_its_paired_interval_clears_zero() -> None:
    tp, fn, tn = ev.TP, ev.FN, ev.TN
    unchanged = [(tp, tp)] * 30 + [(fn, fn)] * 10 + [(tn, tn)] * 160
    assert ev.f1_change_interval(unchanged) == (0.0, 0.0)
    many_fixed = [(tp, tp)] * 30 + [(fn, tp)] * 10 + [(tn, tn)] * 160
    assert ev.f1_change_interval(many_fixed)[0] > 0
    one_fixed = [(tp, tp)] * 30 + [(fn, tp)] + [(fn, fn)] * 9 + [(tn, tn)] * 160
    low, high = ev.f1_change_interval(one_fixed)
    assert low <= 0 < high


def test_against_counts_fixes_and_breaks_on_held_out_sets_without_naming_items(
    tmp_path: Path, files: list, config: Path,  # type: ignore[type-arg]
) -> None:
    after = tmp_path / "after.yaml"
    after.write_text(TOY_CONFIG.replace("any: [jets]", "any: [jets, sold]"), encoding="utf-8")
    changes = {(c.scope, c.watchlist): c for c in ev.compare(files, {"labels-dev"}, config, after)}
    arms = changes[("cross-split", "arms-deals")]  # "Frigates sold to navy in new deal" is now flagged
    assert (arms.fixed, arms.broken, arms.before, arms.after) == (1, 0, 0.0, pytest.approx(2 / 3))
    assert changes[("cross-split", "maritime-disputes")].fixed == 0
    text = ev.render_changes(list(changes.values()), config)
    assert "fixed   1 broken   0" in text and "rss2024-" not in text
    assert "labels-dev" not in text  # no verdict changed there


def test_floors_fail_below_and_when_a_scope_is_missing(files: list, config: Path) -> None:  # type: ignore[type-arg]
    scopes = ev.measure(files, {"labels-dev"}, config)
    met = {"cross-split": {"maritime-disputes": {"f1": 1.0}}, "pooled": {"arms-deals": {"recall": 0.5}}}
    assert ev.check(scopes, met, require_all=True) == ([], [])
    failed, _ = ev.check(scopes, {"cross-split": {"arms-deals": {"precision": 0.01}}}, require_all=True)
    assert failed == ["cross-split arms-deals precision 0.000 < floor 0.01"]
    absent = {"rss2024": {"arms-deals": {"f1": 0.5}}}
    assert ev.check(scopes, absent, require_all=True) == (["rss2024: not measured in this run"], [])
    assert ev.check(scopes, absent, require_all=False) == ([], ["rss2024: not measured in this run"])
    failed, _ = ev.check(scopes, {"pooled": {"ghost-list": {"f1": 0.1}}}, require_all=True)
    assert failed == ["pooled ghost-list: not scored (is the watchlist in the config?)"]


def test_the_baseline_records_what_was_seen_and_floors_every_scope() -> None:
    baseline = ev.load_baseline(BENCH / "baseline.json")
    assert ev.seen_while_writing_rules(baseline) == {"labels-dev", "dev2023", "writtendev2026", "dev2023b",
                                                 "writtendev2026b", "writtendev2026c", "writtendev2026d",
                                                 "writtendev2026e", "writtendev2026f", "writtendev2026g",
                                                 "writtendev2026h", "writtendev2026i", "writtendev2026j",
                                                 "writtendev2026k", "writtendev2026l", "writtendev2026m",
                                                 "writtendev2026n", "writtendev2026o", "writtendev2026p",
                                                 "writtendev2026q", "writtendev2026r",
                                                 "writtendev2026s", "writtendev2026t", "writtendev2026u",
                                                 "writtendev2026v", "writtendev2026w", "writtendev2026x",
                                                 "writtendev2026y", "writtendev2026z", "writtendev2026aa",
                                                 "writtendev2026ab", "writtendev2026ac", "writtendev2026ad",
                                                 "writtendev2026ae", "writtendev2026af", "writtendev2026ag",
                                                 "writtendev2026ah", "writtendev2026ai", "writtendev2026aj",
                                                 "writtendev2026ak", "writtendev2026al", "writtendev2026am",
                                                 "writtendev2026an", "writtendev2026ao", "writtendev2026ap",
                                                 "writtendev2026aq", "writtendev2026ar", "writtendev2026as",
                                                 "writtendev2026at", "writtendev2026au", "writtendev2026av",
                                                 "writtendev2026aw", "writtendev2026ax", "writtendev2026ay",
                                                 "writtendev2026az", "writtendev2026ba", "writtendev2026bb",
                                                 "writtendev2026bc", "writtendev2026bd", "writtendev2026be",
                                                 "writtendev2026bf", "writtendev2026bg", "writtendev2026bh",
                                                 "writtendev2026bi", "writtendev2026bj", "writtendev2026bk",
                                                 "writtendev2026bl", "writtendev2026bm", "writtendev2026bn",
                                                 "writtendev2026bo", "writtendev2026bp", "writtendev2026bq",
                                                 "writtendev2026br", "writtendev2026bs", "writtendev2026bt",
                                                 "writtendev2026bu"}
    assert set(ev.floors(baseline)) == {"labels-dev", "dev2023", "writtendev2026", "dev2023b", "writtendev2026b",
                                        "writtendev2026c", "writtendev2026d", "writtendev2026e", "writtendev2026f",
                                        "writtendev2026g", "writtendev2026h", "writtendev2026i", "writtendev2026j",
                                        "writtendev2026k", "writtendev2026l", "writtendev2026m", "writtendev2026n",
                                        "writtendev2026o", "writtendev2026p", "writtendev2026q", "writtendev2026r",
                                        "writtendev2026s", "writtendev2026t", "writtendev2026u", "writtendev2026v",
                                        "writtendev2026w", "writtendev2026x", "writtendev2026y", "writtendev2026z",
                                        "writtendev2026aa", "writtendev2026ab", "writtendev2026ac", "writtendev2026ad",
                                        "writtendev2026ae", "writtendev2026af", "writtendev2026ag", "writtendev2026ah",
                                        "writtendev2026ai", "writtendev2026aj", "writtendev2026ak", "writtendev2026al",
                                        "writtendev2026am", "writtendev2026an", "writtendev2026ao", "writtendev2026ap",
                                        "writtendev2026aq", "writtendev2026ar", "writtendev2026as", "writtendev2026at",
                                        "writtendev2026au", "writtendev2026av", "writtendev2026aw", "writtendev2026ax",
                                        "writtendev2026ay", "writtendev2026az", "writtendev2026ba", "writtendev2026bb",
                                        "writtendev2026bc", "writtendev2026bd", "writtendev2026be", "writtendev2026bf",
                                        "writtendev2026bg", "writtendev2026bh", "writtendev2026bi", "writtendev2026bj",
                                        "writtendev2026bk", "writtendev2026bl", "writtendev2026bm", "writtendev2026bn",
                                        "writtendev2026bo", "writtendev2026bp", "writtendev2026bq", "writtendev2026br",
                                        "writtendev2026bs", "writtendev2026bt", "writtendev2026bu",
                                        "rss2024",
                                        "written2026", "written2026b", "written2026c", "written2026d", "written2026e",
                                        "written2026f", "written2026g", "written2026h", "written2026i",
                                        "written2026j", "written2026k", "written2026l", "written2026m", "written2026n",
                                        "written2026o", "written2026p", "written2026q", "written2026r", "written2026s",
                                        "pooled", "dev", "cross-split", ev.FULLTEXT_SCOPE, ev.LOCAL_SCOPE}
    with pytest.raises(ValueError, match="seen_while_writing_rules"):
        ev.seen_while_writing_rules({"watchlists": {}})


def test_default_label_files_skip_the_annotators_folder(tmp_path: Path) -> None:
    (tmp_path / "labels" / "annotators").mkdir(parents=True)
    for name in ("labels/b.jsonl", "labels/a.jsonl", "labels/annotators/a-A.jsonl", "labels/notes.md"):
        (tmp_path / name).write_text("", encoding="utf-8")
    paths = ev.default_label_paths(tmp_path / "news", tmp_path / "labels")
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["news/labels-dev.jsonl", "labels/a.jsonl",
                                                                   "labels/b.jsonl"]
