"""bench/eval_reranker.py --judgements: the analysts' judgements of a real newswatch store (filled by the
real pipeline, judged through alerts.feedback) join the training side of the watchlist they were judged
for only, the report counts them, and a judged story that copies a held-out headline is dropped without
the report ever naming a held-out item."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from alerts import process_new_articles
from alerts.feedback import judge
from crawler.store import insert_article
from scheduler.schema import open_store
from tests.bench import BENCH, HELD_OUT_PREFIXES, TOY_CONFIG, load_bench
from tests.scheduler.web.labkit import story_of

rr = load_bench("eval_reranker")

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
MARITIME, ARMS = "maritime-disputes", "arms-deals"

# Invented headlines (not corpus text), scored with TOY_CONFIG.
HELD = {  # id: (title, teaser, maritime, arms)
    "rss2024-aaaa": ("Coast guard blocks resupply at the shoal", "Manila protests again.", True, False),
    "rss2024-bbbb": ("Air show dazzles with jets", "Crowds gather at the base.", False, False),
    "rss2024-cccc": ("Frigates sold to navy in new deal", "The yard will build four.", False, True),
}
# Ten of each kind, so that every one of the five folds has positives of both watchlists.
DEV = {
    **{f"agnews-test-{k:05}": (f"Patrol boats clash at shoal {k}", "Both navies blame each other.", True, False)
       for k in range(10)},
    **{f"huffpost-{k:04}": (f"Air force buys jets batch {k}", "Parliament approved the deal.", False, True)
       for k in range(10)},
    **{f"rss2023-{k:04}": (f"Council opens park number {k}", "Residents welcome it.", False, False)
       for k in range(10)},
}


def _labels(tmp_path: Path) -> tuple[list, frozenset[str]]:  # type: ignore[type-arg]
    """A DEV label file and a held-out one, as bench/eval_watchlists.py reads them."""
    texts = {key: (title, teaser) for key, (title, teaser, _, _) in {**DEV, **HELD}.items()}
    files = []
    for name, rows in (("labels-dev", DEV), ("new2024", HELD)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": key, "maritime_dispute": m, "arms_deal": a}) + "\n"
                                for key, (_, _, m, a) in rows.items()), encoding="utf-8")
        files.append(rr.read_label_file(path, texts))
    return files, frozenset({"labels-dev"})


def judged_store(path: Path, config: Path, stories: dict[str, tuple[str, str, dict[str, bool]]]) -> dict[str, int]:
    """A newswatch store at `path`: one article per story, matched and grouped by the real pipeline with the
    watchlists of `config`, each story judged by an analyst; returns the story ids by URL."""
    db = open_store(path)
    for url, (title, lead, _) in stories.items():
        insert_article(db, {"url": url, "source": "rappler", "title": title, "summary": lead,
                            "text": f"{title}. {lead} Officials gave no further details.",
                            "published": "2026-06-01T07:00:00+00:00", "language": "en"})
    _, matcher = rr.compile_config(config)
    process_new_articles(db, matcher.match, {MARITIME: [], ARMS: []}, now=T0)
    ids = {url: story_of(db, url) for url in stories}
    for url, (_, _, verdicts) in stories.items():
        for watchlist, relevant in verdicts.items():
            judge(db, ids[url], watchlist, relevant, "ana", now=T0)
    db.close()
    return ids


STORIES = {
    "https://a.example/collide": ("Patrol ships collide near the shoal", "Both sides blame each other.",
                                  {MARITIME: True, "regional-politics": True}),
    "https://a.example/tuna": ("Shoal of tuna spotted off the coast", "Anglers are delighted.", {MARITIME: False}),
    "https://a.example/jets": ("Ministry orders twelve jets for the air force", "The deal is worth billions.",
                               {ARMS: True}),
    # The held-out headline rss2024-aaaa, crawled and judged: it must not be trained on.
    "https://a.example/copy": (*HELD["rss2024-aaaa"][:2], {MARITIME: True}),
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(TOY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path, config: Path) -> Path:
    path = tmp_path / "newswatch.db"
    judged_store(path, config, STORIES)
    return path


def test_each_judged_story_is_one_item_labelled_only_for_what_it_was_judged_for(store: Path) -> None:
    read = rr.read_judged(store, tuple(rr.LABELS), "1")
    by_title = {item.title: item for item in read.items}
    assert {title: item.labels for title, item in by_title.items()} == {
        "Patrol ships collide near the shoal": {MARITIME: True},
        "Shoal of tuna spotted off the coast": {MARITIME: False},
        "Ministry orders twelve jets for the air force": {ARMS: True},
        "Coast guard blocks resupply at the shoal": {MARITIME: True},
    }
    # The teaser is the article's lead (feed summary), as `newswatch eval` matches it; the body is not used.
    assert by_title["Shoal of tuna spotted off the coast"].text == "Anglers are delighted."
    assert read.other_watchlists == {"regional-politics": 1} and read.missing == 0


def test_judged_items_train_only_their_watchlist_and_a_held_out_copy_is_dropped(
        tmp_path: Path, config: Path, store: Path) -> None:
    files, seen = _labels(tmp_path)
    data = rr.load_data(files, seen, config, [rr.read_judged(store, tuple(rr.LABELS), "1")])
    assert data.dropped == {MARITIME: 1}
    assert "Coast guard blocks resupply at the shoal" not in {item.title for item in data.judged}
    folds = rr.stratified_folds([tuple(item.labels[name] for name in rr.LABELS) for item in data.dev])

    maritime = rr.training_set(data, MARITIME, folds)
    assert [item.title for item in maritime.items[len(data.dev):]] == [
        "Patrol ships collide near the shoal", "Shoal of tuna spotted off the coast"]
    assert maritime.wanted[len(data.dev):].tolist() == [True, False]
    arms = rr.training_set(data, ARMS, folds)
    assert [item.title for item in arms.items[len(data.dev):]] == ["Ministry orders twelve jets for the air force"]
    assert arms.wanted[len(data.dev):].tolist() == [True]
    # DEV keeps the folds it has without judgements; the held-out items are nowhere in training.
    assert np.array_equal(maritime.folds[: len(data.dev)], folds)
    assert np.array_equal(rr.training_set(rr.load_data(files, seen, config), MARITIME, folds).folds, folds)
    held_ids = {item.id for item in data.held}
    assert not held_ids & {item.id for item in (*maritime.items, *arms.items)}


def test_the_report_counts_judged_items_per_watchlist_and_names_no_held_out_item(
        tmp_path: Path, config: Path, store: Path) -> None:
    files, seen = _labels(tmp_path)
    data = rr.load_data(files, seen, config, [rr.read_judged(store, tuple(rr.LABELS), "1")])
    folds = rr.stratified_folds([tuple(item.labels[name] for name in rr.LABELS) for item in data.dev])
    results = [rr.run_watchlist(data, name, folds, (10.0,)) for name in rr.LABELS]
    report = rr.render(data, results, (10.0,), 0.0)

    assert "JUDGED (training and CV only, never held out): 4 judged stories from 1 store(s); 1 dropped " \
           "(same title and teaser as a held-out item)" in report
    assert f"{store}: 4 stories; judgements not used: 1 for regional-politics" in report
    maritime, arms = report.split(f"== {ARMS}")[0], report.split(f"== {ARMS}")[1]
    assert "judged: +1 relevant, +1 not relevant added to DEV for training and CV; 1 dropped" in maritime
    assert "judged: +1 relevant, +0 not relevant added to DEV for training and CV; 0 dropped" in arms
    assert "DEV + judged, 5-fold CV" in maritime and "trained on all DEV + judged" in arms
    for key, (title, teaser, _, _) in HELD.items():
        assert key not in report and title not in report and teaser not in report


def test_without_judgements_the_report_says_nothing_of_them(tmp_path: Path, config: Path) -> None:
    files, seen = _labels(tmp_path)
    data = rr.load_data(files, seen, config)
    folds = rr.stratified_folds([tuple(item.labels[name] for name in rr.LABELS) for item in data.dev])
    report = rr.render(data, [rr.run_watchlist(data, name, folds, (10.0,)) for name in rr.LABELS], (10.0,), 0.0)
    assert "judged" not in report.lower()
    assert "  DEV, 5-fold CV (out-of-fold" in report


def test_held_out_copies_are_found_whatever_the_case_and_spacing() -> None:
    held = [rr.Item("rss2024-aaaa", "Coast guard blocks resupply", "Manila protests.", {MARITIME: True})]
    copy = rr.Item("judged-1-story-1", "coast guard  blocks Resupply ", "Manila\nprotests.", {MARITIME: True})
    other = rr.Item("judged-1-story-2", "Coast guard blocks resupply", "Beijing protests.", {MARITIME: True})
    assert rr.drop_held_out_copies([copy, other], held) == ([other], [copy])


def test_a_missing_database_is_refused_without_creating_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not rr.NEWS.is_dir():
        pytest.skip(f"../shared corpus not found at {rr.NEWS}")
    assert rr.main(["--judgements", str(tmp_path / "nope.db")]) == 2
    assert "no newswatch database at" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.skipif(not rr.NEWS.is_dir(), reason=f"../shared corpus not found at {rr.NEWS}: the real run "
                    "needs the labelled headlines' text")
def test_a_real_run_with_judgements_counts_them_and_prints_aggregates_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [rr.read_label_file(path, rr.load_texts()) for path in rr.default_label_paths()]
    held = rr.held_out(files, rr.seen_while_writing_rules(rr.load_baseline()))
    _, matcher = rr.compile_config(BENCH.parent / "config.yaml")
    # A held-out maritime headline the default rules flag (so the pipeline makes a story of it).
    copy = next(item for item in held if item.labels[MARITIME] and item.id.startswith("rss2024-") and
                any(m.matched for m in matcher.match(rr.Document(title=item.title, lead=item.text))
                    if m.watchlist == MARITIME))
    path = tmp_path / "newswatch.db"
    judged_store(path, BENCH.parent / "config.yaml", {
        "https://a.example/cannon": ("Chinese coast guard fires water cannon at Philippine boat near Second "
                                     "Thomas Shoal", "Manila summoned the ambassador.", {MARITIME: True}),
        "https://a.example/frigates": ("Japan agrees to export frigates to the Philippines in a defence deal",
                                       "Tokyo eased its arms export rules last year.",
                                       {ARMS: True, MARITIME: False}),
        "https://a.example/copy": (copy.title, copy.text, {MARITIME: True}),
    })
    assert rr.main(["--l2", "10", "--judgements", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 judged stories from 1 store(s); 1 dropped" in out
    maritime, arms = out.split(f"== {ARMS}")
    assert "judged: +1 relevant, +1 not relevant added to DEV for training and CV; 1 dropped" in maritime
    assert "judged: +1 relevant, +0 not relevant added to DEV for training and CV; 0 dropped" in arms
    for prefix in HELD_OUT_PREFIXES:
        assert prefix not in out, f"the report names a held-out id ({prefix}...)"
    assert re.search(r"\b(rss2023|agnews-test|huffpost)-[0-9a-f]", out) is None, "the report names an item id"
    assert sum(item.title in out for item in held if len(item.title) >= 20) == 0
