"""Score the default watchlists on the labelled development set, beside a naive keyword baseline.

Reads ../shared/corpus/news/labels-dev.jsonl (labels) and the other *.jsonl files of that folder
(title + teaser, joined by id), matches every item with the watchlists of config.yaml (title as
title, teaser as lead), and prints precision, recall and F1 per watchlist, the false positives and
false negatives (id and title), and the same figures for a Google-Alerts-like keyword query.

    .venv/bin/python bench/eval_watchlists.py            # report
    .venv/bin/python bench/eval_watchlists.py --check    # exit 1 if below the floors in baseline.json
    .venv/bin/python bench/eval_watchlists.py --quiet    # figures only, no FP/FN lists

Settings read: ``watchlists`` and ``gazetteer`` of config.yaml (or --config).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from alerts.gazetteer import load_gazetteer  # noqa: E402
from alerts.matcher import compile_matcher  # noqa: E402
from alerts.models import Document  # noqa: E402
from alerts.watchlist import parse_watchlists  # noqa: E402

NEWS = ROOT.parent / "shared" / "corpus" / "news"
LABELS = {"maritime-disputes": "maritime_dispute", "arms-deals": "arms_deal"}

# A Google-Alerts-style query per topic: any of these words, case-free, whole words.
_BASELINE = {
    "maritime-disputes": re.compile(
        r"\b(south china sea|east china sea|spratlys?|paracels?|scarborough|senkakus?|diaoyu|second thomas|"
        r"territorial waters|disputed (waters|islands?|shoal))\b",
        re.I,
    ),
    "arms-deals": re.compile(
        r"\b(arms|weapons?|missiles?|fighter jets?)\b.*\b(deals?|sales?|exports?)\b|"
        r"\b(deals?|sales?|exports?)\b.*\b(arms|weapons?|missiles?|fighter jets?)\b",
        re.I,
    ),
}


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    title: str
    text: str
    labels: dict[str, bool]


@dataclass(frozen=True, slots=True)
class Score:
    tp: int
    fp: int
    fn: int
    false_pos: tuple[Item, ...]
    false_neg: tuple[Item, ...]

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_items(folder: Path = NEWS) -> list[Item]:
    """Labelled items of labels-dev.jsonl with their title and teaser."""
    texts: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        if path.name.startswith("labels"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts[row["id"]] = (row.get("title") or "", row.get("text") or "")
    items = []
    for line in (folder / "labels-dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        title, text = texts[row["id"]]
        items.append(Item(row["id"], title, text, {k: bool(row[v]) for k, v in LABELS.items()}))
    return items


def score(items: Iterable[Item], name: str, predict: Callable[[Item], bool]) -> Score:
    """Compare predictions for one watchlist with the labels."""
    fps: list[Item] = []
    fns: list[Item] = []
    tp = 0
    for item in items:
        got, want = predict(item), item.labels[name]
        if got and want:
            tp += 1
        elif got:
            fps.append(item)
        elif want:
            fns.append(item)
    return Score(tp, len(fps), len(fns), tuple(fps), tuple(fns))


def evaluate(items: list[Item], config: Path = ROOT / "config.yaml") -> dict[str, Score]:
    """Scores of the configured watchlists (only those with labels) on the items."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    matcher = compile_matcher(
        parse_watchlists(raw.get("watchlists") or []), load_gazetteer(raw.get("gazetteer") or [])
    )
    verdicts = {
        item.id: {m.watchlist: m.matched for m in matcher.match(Document(title=item.title, lead=item.text))}
        for item in items
    }
    return {
        name: score(items, name, lambda it, n=name: verdicts[it.id].get(n, False))
        for name in LABELS
        if name in matcher.watchlist_names
    }


def evaluate_baseline(items: list[Item]) -> dict[str, Score]:
    """Scores of the keyword baseline."""
    return {
        name: score(items, name, lambda it, rx=rx: bool(rx.search(f"{it.title} {it.text}")))
        for name, rx in _BASELINE.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when below bench/baseline.json floors")
    parser.add_argument("--quiet", action="store_true", help="do not list false positives and negatives")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    args = parser.parse_args(argv)
    if not (NEWS / "labels-dev.jsonl").exists():
        print(f"labelled corpus not found at {NEWS}", file=sys.stderr)
        return 2
    items = load_items()
    ours, base = evaluate(items, args.config), evaluate_baseline(items)
    print(f"{len(items)} labelled items (title + teaser)\n")
    print(f"{'watchlist':20} {'':9} {'P':>6} {'R':>6} {'F1':>6}  {'TP':>3} {'FP':>3} {'FN':>3}")
    for name, s in ours.items():
        b = base[name]
        for label, x in (("rules", s), ("keywords", b)):
            print(
                f"{name:20} {label:9} {x.precision:6.3f} {x.recall:6.3f} {x.f1:6.3f}"
                f"  {x.tp:3} {x.fp:3} {x.fn:3}"
            )
        print(f"{'':20} {'F1 ratio':9} {s.f1 / b.f1 if b.f1 else float('inf'):20.2f}x")
    if not args.quiet:
        for name, s in ours.items():
            print(f"\n{name}: false positives")
            for it in s.false_pos:
                print(f"  {it.id}  {it.title[:100]}")
            print(f"{name}: false negatives")
            for it in s.false_neg:
                print(f"  {it.id}  {it.title[:100]}")
    if args.check:
        floors = json.loads((ROOT / "bench" / "baseline.json").read_text(encoding="utf-8"))["watchlists"]
        failed = [
            f"{name} {metric} {getattr(ours[name], metric):.3f} < {floor}"
            for name, metrics in floors.items()
            for metric, floor in metrics.items()
            if name not in ours or getattr(ours[name], metric) < floor
        ]
        for line in failed:
            print(f"BELOW FLOOR: {line}", file=sys.stderr)
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
