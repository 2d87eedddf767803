"""bench/label_agreement.py: Cohen's kappa on textbook values, and the adjudicated label file it builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench import BENCH, load_bench

agreement = load_bench("label_agreement")
ANNOTATORS = BENCH / "labels" / "annotators"


def _raters(both_yes: int, only_a: int, only_b: int, both_no: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both_yes + [True] * only_a + [False] * only_b + [False] * both_no
    b = [True] * both_yes + [False] * only_a + [True] * only_b + [False] * both_no
    return a, b


def test_kappa_of_the_textbook_example() -> None:
    # 50 proposals: both yes 20, only A yes 5, only B yes 10, both no 15. Observed agreement 0.7, expected
    # 0.5 * 0.6 + 0.5 * 0.4 = 0.5, so kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4 (Wikipedia, "Cohen's kappa").
    assert agreement.cohen_kappa(*_raters(20, 5, 10, 15)) == pytest.approx(0.4)


@pytest.mark.parametrize(("counts", "kappa"), [
    ((10, 0, 0, 40), 1.0),  # perfect agreement
    ((0, 5, 5, 0), -1.0),  # perfect disagreement on a balanced label
    ((25, 0, 25, 0), 0.0),  # A always yes: agreement no better than chance
    ((0, 0, 0, 30), 1.0),  # both always no: agree on everything (kappa is defined as 1 here)
])
def test_kappa_limits(counts: tuple[int, int, int, int], kappa: float) -> None:
    assert agreement.cohen_kappa(*_raters(*counts)) == pytest.approx(kappa)


def test_kappa_needs_items_judged_by_both() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        agreement.cohen_kappa([], [])
    with pytest.raises(ValueError):
        agreement.cohen_kappa([True, False], [True])


def test_adjudication_keeps_agreements_and_applies_decisions() -> None:
    yes_no = {"maritime_dispute": True, "arms_deal": False}
    no_no = {"maritime_dispute": False, "arms_deal": False}
    no_yes = {"maritime_dispute": False, "arms_deal": True}
    first = {"x-1": yes_no, "x-2": no_no, "x-3": no_yes}
    second = {"x-1": yes_no, "x-2": yes_no, "x-3": no_no}
    assert agreement.disagreements(first, second) == {"x-2": ["maritime_dispute"], "x-3": ["arms_deal"]}
    final = agreement.adjudicate(first, second, {"x-2": no_no, "x-3": no_yes, "x-1": no_no})
    assert final == {"x-1": yes_no, "x-2": no_no, "x-3": no_yes}  # x-1 was agreed: its decision is ignored
    with pytest.raises(ValueError, match="no decision for 1 disagreement"):
        agreement.adjudicate(first, second, {"x-2": no_no})
    with pytest.raises(ValueError, match="label different items"):
        agreement.adjudicate(first, {"x-1": yes_no}, {})


# Every committed label file, with the annotators' agreement it was reported with.
LABEL_SETS = [
    ("rss2024", BENCH / "labels" / "rss2024.jsonl", 1666, "0.973", "0.889"),
    ("dev2023", BENCH / "labels" / "dev2023.jsonl", 1000, "0.962", "0.963"),
    ("written2026", BENCH / "labels" / "written2026.jsonl", 400, "0.993", "1.000"),
    ("written2026b", BENCH / "labels" / "written2026b.jsonl", 400, "0.993", "1.000"),
    ("written2026c", BENCH / "labels" / "written2026c.jsonl", 400, "0.993", "1.000"),
    ("written2026d", BENCH / "labels" / "written2026d.jsonl", 400, "0.980", "0.970"),
    ("writtendev2026", BENCH / "labels" / "writtendev2026.jsonl", 400, "0.993", "1.000"),
    ("dev2023b", BENCH / "labels" / "dev2023b.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026b", BENCH / "labels" / "writtendev2026b.jsonl", 400, "0.985", "0.992"),
    ("writtendev2026c", BENCH / "labels" / "writtendev2026c.jsonl", 400, "0.993", "0.983"),
    ("writtendev2026d", BENCH / "labels" / "writtendev2026d.jsonl", 400, "0.980", "1.000"),
    ("writtendev2026e", BENCH / "labels" / "writtendev2026e.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026f", BENCH / "labels" / "writtendev2026f.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026g", BENCH / "labels" / "writtendev2026g.jsonl", 400, "0.988", "0.991"),
    ("writtendev2026h", BENCH / "labels" / "writtendev2026h.jsonl", 400, "0.906", "0.935"),
    ("writtendev2026i", BENCH / "labels" / "writtendev2026i.jsonl", 400, "0.976", "0.982"),
    ("writtendev2026j", BENCH / "labels" / "writtendev2026j.jsonl", 400, "0.973", "0.992"),
    ("writtendev2026k", BENCH / "labels" / "writtendev2026k.jsonl", 400, "0.974", "0.971"),
    ("writtendev2026l", BENCH / "labels" / "writtendev2026l.jsonl", 400, "0.971", "0.991"),
    ("writtendev2026m", BENCH / "labels" / "writtendev2026m.jsonl", 400, "0.993", "0.982"),
    ("writtendev2026n", BENCH / "labels" / "writtendev2026n.jsonl", 400, "0.955", "0.981"),
    ("writtendev2026o", BENCH / "labels" / "writtendev2026o.jsonl", 400, "0.988", "1.000"),
    ("writtendev2026p", BENCH / "labels" / "writtendev2026p.jsonl", 400, "1.000", "0.981"),
    ("writtendev2026q", BENCH / "labels" / "writtendev2026q.jsonl", 400, "0.983", "0.985"),
    ("writtendev2026r", BENCH / "labels" / "writtendev2026r.jsonl", 400, "0.993", "1.000"),
    ("writtendev2026s", BENCH / "labels" / "writtendev2026s.jsonl", 400, "0.973", "0.988"),
    ("writtendev2026t", BENCH / "labels" / "writtendev2026t.jsonl", 400, "1.000", "0.975"),
    ("writtendev2026u", BENCH / "labels" / "writtendev2026u.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026v", BENCH / "labels" / "writtendev2026v.jsonl", 400, "0.970", "0.981"),
    ("writtendev2026w", BENCH / "labels" / "writtendev2026w.jsonl", 400, "0.971", "0.989"),
    ("writtendev2026x", BENCH / "labels" / "writtendev2026x.jsonl", 400, "0.987", "0.966"),
    ("writtendev2026y", BENCH / "labels" / "writtendev2026y.jsonl", 400, "1.000", "0.989"),
    ("writtendev2026z", BENCH / "labels" / "writtendev2026z.jsonl", 400, "0.993", "0.986"),
    ("writtendev2026aa", BENCH / "labels" / "writtendev2026aa.jsonl", 400, "0.963", "0.991"),
    ("writtendev2026ab", BENCH / "labels" / "writtendev2026ab.jsonl", 400, "0.982", "0.994"),
    ("writtendev2026ac", BENCH / "labels" / "writtendev2026ac.jsonl", 400, "0.994", "0.988"),
    ("writtendev2026ad", BENCH / "labels" / "writtendev2026ad.jsonl", 400, "0.993", "0.986"),
    ("writtendev2026ae", BENCH / "labels" / "writtendev2026ae.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026af", BENCH / "labels" / "writtendev2026af.jsonl", 400, "0.964", "0.958"),
    ("writtendev2026ag", BENCH / "labels" / "writtendev2026ag.jsonl", 400, "1.000", "0.990"),
    ("writtendev2026ah", BENCH / "labels" / "writtendev2026ah.jsonl", 400, "0.993", "0.993"),
    ("writtendev2026ai", BENCH / "labels" / "writtendev2026ai.jsonl", 400, "0.989", "1.000"),
    ("writtendev2026aj", BENCH / "labels" / "writtendev2026aj.jsonl", 400, "1.000", "0.990"),
    ("writtendev2026ak", BENCH / "labels" / "writtendev2026ak.jsonl", 400, "0.990", "0.987"),
    ("writtendev2026al", BENCH / "labels" / "writtendev2026al.jsonl", 400, "0.974", "0.993"),
    ("writtendev2026am", BENCH / "labels" / "writtendev2026am.jsonl", 400, "0.981", "0.994"),
    ("writtendev2026an", BENCH / "labels" / "writtendev2026an.jsonl", 400, "1.000", "0.979"),
    ("writtendev2026ao", BENCH / "labels" / "writtendev2026ao.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026ap", BENCH / "labels" / "writtendev2026ap.jsonl", 400, "1.000", "0.995"),
    ("writtendev2026aq", BENCH / "labels" / "writtendev2026aq.jsonl", 400, "0.992", "0.976"),
    ("writtendev2026ar", BENCH / "labels" / "writtendev2026ar.jsonl", 400, "0.985", "0.989"),
    ("writtendev2026as", BENCH / "labels" / "writtendev2026as.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026at", BENCH / "labels" / "writtendev2026at.jsonl", 400, "0.958", "0.991"),
    ("writtendev2026au", BENCH / "labels" / "writtendev2026au.jsonl", 400, "1.000", "0.995"),
    ("writtendev2026av", BENCH / "labels" / "writtendev2026av.jsonl", 400, "0.993", "1.000"),
    ("writtendev2026aw", BENCH / "labels" / "writtendev2026aw.jsonl", 400, "1.000", "1.000"),
    ("writtendev2026ax", BENCH / "labels" / "writtendev2026ax.jsonl", 400, "0.980", "0.988"),
    ("writtendev2026ay", BENCH / "labels" / "writtendev2026ay.jsonl", 400, "1.000", "0.994"),
    ("writtendev2026az", BENCH / "labels" / "writtendev2026az.jsonl", 400, "0.973", "0.980"),
    ("writtendev2026ba", BENCH / "labels" / "writtendev2026ba.jsonl", 400, "0.993", "0.980"),
    ("writtendev2026bb", BENCH / "labels" / "writtendev2026bb.jsonl", 400, "0.985", "0.985"),
    ("writtendev2026bc", BENCH / "labels" / "writtendev2026bc.jsonl", 400, "0.991", "1.000"),
    ("writtendev2026bd", BENCH / "labels" / "writtendev2026bd.jsonl", 400, "0.943", "0.988"),
    ("writtendev2026be", BENCH / "labels" / "writtendev2026be.jsonl", 400, "0.953", "0.977"),
    ("writtendev2026bf", BENCH / "labels" / "writtendev2026bf.jsonl", 400, "1.000", "0.991"),
    ("writtendev2026bg", BENCH / "labels" / "writtendev2026bg.jsonl", 400, "0.946", "0.980"),
    ("writtendev2026bh", BENCH / "labels" / "writtendev2026bh.jsonl", 400, "0.940", "0.949"),
    ("writtendev2026bi", BENCH / "labels" / "writtendev2026bi.jsonl", 400, "0.941", "1.000"),
    ("writtendev2026bj", BENCH / "labels" / "writtendev2026bj.jsonl", 400, "0.971", "0.981"),
    ("writtendev2026bk", BENCH / "labels" / "writtendev2026bk.jsonl", 400, "0.965", "0.918"),
    ("writtendev2026bl", BENCH / "labels" / "writtendev2026bl.jsonl", 400, "1.000", "0.988"),
    ("writtendev2026bm", BENCH / "labels" / "writtendev2026bm.jsonl", 400, "1.000", "0.983"),
    ("writtendev2026bn", BENCH / "labels" / "writtendev2026bn.jsonl", 400, "1.000", "0.941"),
    ("writtendev2026bo", BENCH / "labels" / "writtendev2026bo.jsonl", 400, "1.000", "0.905"),
    ("writtendev2026bp", BENCH / "labels" / "writtendev2026bp.jsonl", 400, "0.977", "0.985"),
    ("writtendev2026bq", BENCH / "labels" / "writtendev2026bq.jsonl", 200, "1.000", "0.968"),
    ("writtendev2026br", BENCH / "labels" / "writtendev2026br.jsonl", 200, "1.000", "0.990"),
    ("writtendev2026bs", BENCH / "labels" / "writtendev2026bs.jsonl", 200, "0.986", "0.986"),
    ("writtendev2026bt", BENCH / "labels" / "writtendev2026bt.jsonl", 200, "1.000", "0.987"),
    ("writtendev2026bu", BENCH / "labels" / "writtendev2026bu.jsonl", 200, "0.986", "0.973"),
    ("written2026e", BENCH / "labels" / "written2026e.jsonl", 400, "0.986", "0.991"),
    ("written2026f", BENCH / "labels" / "written2026f.jsonl", 400, "0.979", "0.985"),
    ("written2026g", BENCH / "labels" / "written2026g.jsonl", 400, "1.000", "0.985"),
    ("written2026h", BENCH / "labels" / "written2026h.jsonl", 400, "0.986", "0.993"),
    ("written2026i", BENCH / "labels" / "written2026i.jsonl", 400, "1.000", "0.993"),
    ("written2026j", BENCH / "labels" / "written2026j.jsonl", 400, "0.986", "0.986"),
    ("written2026k", BENCH / "labels" / "written2026k.jsonl", 400, "0.979", "1.000"),
    ("written2026l", BENCH / "labels" / "written2026l.jsonl", 400, "0.980", "0.986"),
    ("written2026m", BENCH / "labels" / "written2026m.jsonl", 400, "1.000", "1.000"),
    ("written2026n", BENCH / "labels" / "written2026n.jsonl", 400, "0.994", "0.980"),
    ("written2026o", BENCH / "labels" / "written2026o.jsonl", 400, "0.994", "1.000"),
    ("written2026p", BENCH / "labels" / "written2026p.jsonl", 400, "1.000", "1.000"),
    ("written2026q", BENCH / "labels" / "written2026q.jsonl", 200, "0.981", "1.000"),
    ("written2026r", BENCH / "labels" / "written2026r.jsonl", 200, "0.959", "1.000"),
    ("written2026s", BENCH / "labels" / "written2026s.jsonl", 200, "0.973", "0.986"),
    ("fulltext", BENCH / "labels" / "fulltext" / "pages.jsonl", 354, "1.000", "1.000"),
    ("local", BENCH / "labels" / "local" / "local.jsonl", 320, "1.000", "1.000"),
]


@pytest.mark.parametrize(("name", "committed", "items", "kappa_maritime", "kappa_arms"), LABEL_SETS,
                         ids=[row[0] for row in LABEL_SETS])
def test_each_label_file_is_rebuilt_from_its_annotators_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, committed: Path, items: int,
    kappa_maritime: str, kappa_arms: str,
) -> None:
    out = tmp_path / f"{name}.jsonl"
    args = [str(ANNOTATORS / f"{name}-A.jsonl"), str(ANNOTATORS / f"{name}-B.jsonl"), "--out", str(out)]
    decisions = ANNOTATORS / f"{name}-adjudicated.jsonl"
    code = agreement.main([*args, "--adjudicated", str(decisions)] if decisions.exists() else args)
    assert code == 0
    printed = capsys.readouterr().out
    assert f"maritime_dispute: {items} items" in printed and f"Cohen's kappa {kappa_maritime}" in printed
    assert f"arms_deal: {items} items" in printed and f"Cohen's kappa {kappa_arms}" in printed
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
    assert all(set(json.loads(line)) == {"id", "maritime_dispute", "arms_deal"}
               for line in out.read_text(encoding="utf-8").splitlines())
