"""Agreement between two annotators' labels, and the adjudicated label file built from them.

Each annotator file holds one JSON object a line: ``{"id", "maritime_dispute", "arms_deal", "unsure"}``
(ids and labels only; the text stays in the corpus). The script prints, per label, how many items each
annotator said yes to, the raw agreement and Cohen's κ, and lists the items they disagree on. With
``--adjudicated FILE`` (one ``{"id", "maritime_dispute", "arms_deal"}`` a line, the decisions on the
disagreements) it writes the final label file: agreed items as agreed, disagreements as decided.

Run: ``python bench/label_agreement.py bench/labels/annotators/rss2024-A.jsonl
bench/labels/annotators/rss2024-B.jsonl [--adjudicated decisions.jsonl --out bench/labels/rss2024.jsonl]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

LABELS = ("maritime_dispute", "arms_deal")
Labels = dict[str, dict[str, bool]]  # item id -> label name -> yes/no


def read_labels(path: Path) -> Labels:
    """Labels by item id; a repeated id is an error (an annotator's file must list each item once)."""
    labels: Labels = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["id"] in labels:
            raise SystemExit(f"{path}:{number}: id {row['id']} appears twice")
        labels[row["id"]] = {name: bool(row[name]) for name in LABELS}
    return labels


def cohen_kappa(a: list[bool], b: list[bool]) -> float:
    """Cohen's κ for two raters' yes/no judgements of the same items.

    Args:
        a: the first rater's judgements.
        b: the second rater's, item for item.

    Returns:
        (observed − expected agreement) / (1 − expected agreement); 1.0 when both raters say the same
        thing for every item (the chance-corrected ratio is undefined there).

    Raises:
        ValueError: no items, or the lists differ in length.
    """
    n = len(a)
    if n == 0:
        raise ValueError("Cohen's kappa needs at least one item judged by both raters")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def disagreements(first: Labels, second: Labels) -> dict[str, list[str]]:
    """The labels the two annotators disagree on, by item id (items in id order)."""
    found: dict[str, list[str]] = {}
    for item in sorted(first):
        for name in LABELS:
            if first[item][name] != second[item][name]:
                found.setdefault(item, []).append(name)
    return found


def adjudicate(first: Labels, second: Labels, decided: Labels) -> Labels:
    """The final labels: agreed items as both annotators said, the others as `decided` says.

    Args:
        first: one annotator's labels.
        second: the other's, for the same items.
        decided: the adjudicator's labels for (at least) every item with a disagreement.

    Returns:
        Labels by id, in id order.

    Raises:
        ValueError: the annotators labelled different items, or a disagreement has no decision.
    """
    if set(first) != set(second):
        raise ValueError(f"the files label different items: {len(set(first) ^ set(second))} ids differ")
    split = disagreements(first, second)
    missing = set(split) - set(decided)
    if missing:
        raise ValueError(f"no decision for {len(missing)} disagreement(s), e.g. {sorted(missing)[0]}; "
                         "add them to the adjudicated file")
    return {item: decided[item] if item in split else first[item] for item in sorted(first)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--adjudicated", type=Path, help="decisions on the disagreements")
    parser.add_argument("--out", type=Path, help="where to write the final labels (with --adjudicated)")
    args = parser.parse_args(argv)
    first, second = read_labels(args.first), read_labels(args.second)
    if set(first) != set(second):
        raise SystemExit(f"the files label different items: {len(set(first) ^ set(second))} ids differ")
    ids = sorted(first)
    for name in LABELS:
        a = [first[i][name] for i in ids]
        b = [second[i][name] for i in ids]
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(ids)
        print(f"{name}: {len(ids)} items, yes {sum(a)} / {sum(b)}, agreement {agree:.3f}, "
              f"Cohen's kappa {cohen_kappa(a, b):.3f}")
    split = disagreements(first, second)
    print(f"{len(split)} items with a disagreement")
    if not args.adjudicated:
        for item, names in split.items():
            print(f"  {item}: {', '.join(names)}")
        return 0
    try:
        final = adjudicate(first, second, read_labels(args.adjudicated))
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    out = args.out or Path("labels.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for item, labels in final.items():
            f.write(json.dumps({"id": item, **labels}) + "\n")
    print(f"wrote {len(final)} labels to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
