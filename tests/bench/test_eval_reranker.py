"""bench/eval_reranker.py: the logistic-regression trainer on tiny synthetic data (it learns a separable
set, reaches the optimum, and gives the same weights every time), its sparse products, the folds, and
that a run on the real labels prints aggregates only: no held-out item's id or title."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.bench import HELD_OUT_PREFIXES, load_bench

rr = load_bench("eval_reranker")

# Two clusters on either side of x0 = 0, with a distractor feature that says nothing.
POINTS = np.array([
    [2.0, 1.0, 0.0], [1.5, 0.0, 1.0], [1.0, 1.0, 1.0], [0.5, 0.0, 0.0],
    [-0.5, 1.0, 0.0], [-1.0, 0.0, 1.0], [-1.5, 1.0, 1.0], [-2.0, 0.0, 0.0],
])
LABELS = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def test_the_trainer_learns_a_separable_set() -> None:
    x = rr.Coo.from_dense(POINTS)
    model = rr.fit_logistic(x, LABELS, l2=0.01)
    assert model.converged
    probability = model.probability(x)
    assert np.array_equal(probability >= 0.5, LABELS == 1.0)
    assert probability[LABELS == 1.0].min() > 0.9 and probability[LABELS == 0.0].max() < 0.1
    assert model.weights[0] > np.abs(model.weights[1:]).max()  # the feature that separates weighs most


def test_the_trainer_reaches_the_optimum_and_is_deterministic() -> None:
    x = rr.Coo.from_dense(POINTS)
    first = rr.fit_logistic(x, LABELS, l2=1.0)
    again = rr.fit_logistic(x, LABELS, l2=1.0)
    assert np.array_equal(first.weights, again.weights) and first.bias == again.bias
    # Zero gradient of the penalised log-loss (bias unpenalised but for a whisker).
    residual = first.probability(x) - LABELS
    assert np.abs(x.tdot(residual) + 1.0 * first.weights).max() < 1e-6
    assert abs(residual.sum()) < 1e-6
    # A stronger penalty gives smaller weights.
    assert np.linalg.norm(rr.fit_logistic(x, LABELS, l2=10.0).weights) < np.linalg.norm(first.weights)


def test_the_trainer_rejects_bad_input() -> None:
    x = rr.Coo.from_dense(POINTS)
    with pytest.raises(ValueError, match="l2 must be positive"):
        rr.fit_logistic(x, LABELS, l2=0.0)
    with pytest.raises(ValueError, match="0/1 label per row"):
        rr.fit_logistic(x, LABELS[:3], l2=1.0)


def test_sparse_products_match_dense_ones() -> None:
    x = rr.Coo.from_dense(POINTS)
    v, u = np.array([0.5, -1.0, 2.0]), np.arange(8.0)
    assert np.allclose(x.dot(v), POINTS @ v)
    assert np.allclose(x.tdot(u), POINTS.T @ u)
    assert np.allclose(x.tdot_squares(u), (POINTS**2).T @ u)


def test_folds_are_stratified_and_fixed() -> None:
    strata = [(True, False)] * 10 + [(False, True)] * 5 + [(False, False)] * 35
    folds = rr.stratified_folds(strata)
    assert np.array_equal(folds, rr.stratified_folds(strata))
    assert np.bincount(folds).tolist() == [10] * 5
    assert np.bincount(folds[:10]).tolist() == [2] * 5  # each fold gets its share of positives


def test_ngrams_stay_inside_a_field_and_the_vocabulary_needs_two_items() -> None:
    item = rr.Item("rss2023-x", "Navy buys jets", "Deal signed", {})
    assert rr.ngrams(item) == {"navy", "buys", "jets", "navy buys", "buys jets", "deal", "signed", "deal signed"}
    assert rr.vocabulary([frozenset({"a", "b"}), frozenset({"a"})]) == ("a",)


@pytest.mark.skipif(not rr.NEWS.is_dir(), reason=f"../shared corpus not found at {rr.NEWS}: the real run "
                    "needs the labelled headlines' text")
def test_a_real_run_prints_aggregates_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert rr.main(["--l2", "100", "10"]) == 0
    out = capsys.readouterr().out
    assert "HELD OUT, pooled" in out and "heaviest positive features" in out
    for prefix in HELD_OUT_PREFIXES:
        assert prefix not in out, f"the report names a held-out id ({prefix}...)"
    assert re.search(r"\b(rss2023|agnews-test|huffpost)-[0-9a-f]", out) is None, "the report names an item id"
    # No held-out title either (counted, so that a failure cannot print one).
    texts = rr.load_texts()
    held_titles = [title for key, (title, _teaser) in texts.items()
                   if key.startswith(HELD_OUT_PREFIXES) and len(title) >= 20]
    assert sum(title in out for title in held_titles) == 0


def test_a_higher_confidence_level_gives_a_wider_interval() -> None:
    # 200 invented items: the first predictor finds 10 more of the 60 wanted than the second.
    wanted = np.zeros(200, dtype=bool)
    wanted[:60] = True
    ours, theirs = wanted.copy(), wanted.copy()
    theirs[:20] = False
    ours[:10] = False
    ours[150:155] = True  # and has five false alarms the other has not
    low95, high95 = rr.bootstrap_f1_difference(ours, theirs, wanted)
    low99, high99 = rr.bootstrap_f1_difference(ours, theirs, wanted, level=0.99)
    assert low99 < low95 < high95 < high99
    assert rr.bootstrap_f1_difference(ours, theirs, wanted, level=0.95) == (low95, high95)  # the default
