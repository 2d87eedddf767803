"""Quality gate: the default watchlists stay above the floors in bench/baseline.json — on labels-dev, on
the held-out labels (bench/labels/*.jsonl, never looked at while writing the rules), pooled, cross-split
on the full-text pages (bench/labels/fulltext/pages.jsonl, extracted as the crawler extracts them) and
on the regional-language headlines (bench/labels/local, scope ``local``).

Reads ../shared/corpus (the text joined to the labels by id); skips when it is absent. A failing floor
prints figures only, never a held-out item."""

from __future__ import annotations

import gzip
import json
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
    if bench.FULLTEXT.exists():
        files.append(bench.read_fulltext_file(bench.FULLTEXT, CORPUS))
    scopes = bench.measure(files, bench.seen_while_writing_rules(BASELINE))
    if bench.LOCAL_LABELS.exists():  # the regional-language headlines (written for newswatch, in tests/data)
        scopes.append(bench.language_scopes()[0])
    return files, {scope.name: scope for scope in scopes}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_default_watchlist_meets_floors(scores: dict, name: str) -> None:  # type: ignore[type-arg]
    got = scores["rules"][name]
    for metric, floor in FLOORS[name].items():
        value: float = getattr(got, metric)
        assert value >= floor, f"{name} {metric} {value:.3f} < floor {floor}"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_rules_beat_the_keyword_baseline(scores: dict, name: str) -> None:  # type: ignore[type-arg]
    assert scores["rules"][name].f1 > scores["keywords"][name].f1


@pytest.mark.parametrize(("scope", "name"), HELD_OUT_FLOORS)
def test_held_out_pooled_and_cross_split_figures_meet_floors(default_run: tuple, scope: str,  # type: ignore[type-arg]
                                                             name: str) -> None:
    if scope not in default_run[1] and scope == bench.FULLTEXT_SCOPE:
        pytest.skip(f"full-text labels not found at {bench.FULLTEXT}")
    got = default_run[1][scope].rules[name]
    for metric, floor in ALL_FLOORS[scope][name].items():
        value: float = getattr(got, metric)  # a float, so a failure prints no Score (and no held-out item)
        assert value >= floor, f"{scope} {name} {metric} {value:.3f} < floor {floor}"


def test_cross_split_is_every_labelled_headline_outside_the_seen_files(default_run: tuple) -> None:  # type: ignore[type-arg]
    files, scopes = default_run
    seen = bench.seen_while_writing_rules(BASELINE)
    headlines = [f for f in files if not f.fulltext]
    dev_ids = {item.id for f in headlines if f.name in seen for item in f.items}
    others = {item.id for f in headlines if f.name not in seen for item in f.items}
    assert "labels-dev" in seen and "rss2024" in [f.name for f in files]
    assert scopes["cross-split"].items == len(others - dev_ids) >= 1666
    assert scopes["cross-split"].held_out
    assert scopes["pooled"].items == len(dev_ids | others), "the pool is headlines: pages are scored apart"


def test_the_default_report_lists_no_held_out_item(capsys: pytest.CaptureFixture[str]) -> None:
    _need_corpus()
    assert bench.main(["--check"]) == 0
    printed = capsys.readouterr().out
    assert "cross-split figure" in printed and "RSS 2024" in printed
    assert "labels-dev maritime-disputes: false positives" in printed
    assert "rss2024-" not in printed  # held-out ids appear only with --show-held-out-errors
    summary = printed[printed.index("summary (P / R / F1"):].split("\n\n")[0]
    for watchlist in ("maritime-disputes", "arms-deals"):
        lines = [line.split() for line in summary.splitlines() if line.strip().startswith(watchlist)]
        scopes = [line[1] for line in lines]
        assert {"labels-dev", "rss2024", "cross-split"} <= set(scopes), scopes
        assert all("rules" in line and "keywords" in line for line in lines)
        if bench.FULLTEXT.exists():
            assert "fulltext" in scopes
            assert ".html" not in printed  # page ids are held out too


def test_check_fails_when_a_watchlist_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _need_corpus()
    config = tmp_path / "config.yaml"
    config.write_text("watchlists:\n  - name: maritime-disputes\n    rules:\n      - any: [shoal]\n",
                      encoding="utf-8")
    assert bench.main(["--check", "--quiet", "--config", str(config)]) == 1
    assert "BELOW FLOOR: cross-split arms-deals: not scored" in capsys.readouterr().err


def test_a_score_never_shows_its_items() -> None:
    item = bench.Item("rss2024-0000000000000000", "A held-out headline", "teaser", {"arms-deals": True})
    score = bench.Score(0, 1, 1, (item,), (item,))
    assert "held-out headline" not in repr(score) and "rss2024-" not in repr(score)


def _page(title: str, description: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<html><head><title>{title} | Example Times</title><meta property="og:title" content="{title}">'
            f'<meta name="description" content="{description}"></head><body><nav>Home News Sport</nav>'
            f"<article><h1>{title}</h1>{body}</article><footer>Copyright</footer></body></html>").encode()


def test_full_text_pages_are_matched_on_title_description_and_extracted_body(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "pages" / "site").mkdir(parents=True)
    filler = [f"Paragraph {i} of the city council's budget report, about roads, schools and parks, "
              "which the mayor presented on Tuesday to a full chamber of councillors." for i in range(8)]
    story = ["Chinese coast guard ships fired water cannon at a Philippine supply boat near Second Thomas "
             "Shoal on Monday, Manila said, the latest clash in the disputed South China Sea.", *filler]
    (corpus / "pages" / "site" / "shoal.html.gz").write_bytes(gzip.compress(_page(
        "Manila protests water cannon attack at Second Thomas Shoal", "The Philippines summoned China's envoy.",
        story)))
    (corpus / "pages" / "site" / "budget.html").write_bytes(_page("City budget approved",
                                                                  "Councillors back the plan.", filler))
    labels = tmp_path / "pages.jsonl"
    labels.write_text("\n".join(json.dumps(row) for row in [
        {"id": "pages/site/shoal.html.gz", "maritime_dispute": True, "arms_deal": False},
        {"id": "pages/site/budget.html", "maritime_dispute": False, "arms_deal": False},
    ]) + "\n", encoding="utf-8")
    cache = tmp_path / "cache.json"
    pages = bench.read_fulltext_file(labels, corpus, cache)
    shoal, _ = pages.items
    assert pages.name == bench.FULLTEXT_SCOPE and pages.fulltext
    assert shoal.title.startswith("Manila protests water cannon")
    assert shoal.text == "The Philippines summoned China's envoy."
    assert "Second Thomas Shoal on Monday" in shoal.body and "Home News Sport" not in shoal.body
    assert shoal.labels == {"maritime-disputes": True, "arms-deals": False}
    assert json.loads(cache.read_text(encoding="utf-8"))["pages/site/budget.html"][1] == "City budget approved"
    again = bench.read_fulltext_file(labels, corpus, cache)  # from the cache: same items
    assert again.items == pages.items
    scopes = {s.name: s for s in bench.measure([pages], seen=frozenset())}
    maritime = scopes[bench.FULLTEXT_SCOPE].rules["maritime-disputes"]
    assert (maritime.tp, maritime.fp, maritime.fn) == (1, 0, 0)
    assert bench.POOLED not in scopes and bench.CROSS_SPLIT not in scopes, "pages are not headlines"
