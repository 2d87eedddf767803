"""Does a learned second stage beat the default rules on labelled headlines they never saw?

A re-ranker is an L2-regularised logistic regression, one per watchlist, that re-decides every item from

- what the default rules of config.yaml say about it (title as title, teaser as lead, as
  bench/eval_watchlists.py matches it): one 0/1 feature per rule of the watchlist (satisfied or not), the
  total score divided by the watchlist's threshold, and the rules' verdict (0/1, so that the model can
  reproduce the rules exactly: a score is a step, not a slope, at the threshold);
- the lower-cased word unigrams and bigrams of the title and of the teaser (bigrams do not span the two)
  found in at least two items of the training data (0/1, a vocabulary, nothing downloaded).

Data, as bench/eval_watchlists.py decides it: DEV is every item of the label files named in
``seen_while_writing_rules`` of bench/baseline.json (labels-dev and dev2023 today), HELD OUT every other
item of the headline label files (rss2024 and written2026 today, pooled; an id also in a DEV file counts
as DEV). Full-text pages and the regional-language set (bench/labels/local) are not used.

Learning from the analysts (``--judgements DB``, repeatable): the stories judged in the workbench
(``judgements`` of a newswatch store) become training items, read by bench/judgements.py through the
readers `newswatch eval` uses: the title and lead (feed summary) of the story's first article as title and
teaser. They join DEV for training and cross-validation only, never the held-out side, and each counts
only for the watchlist it was judged for (a story judged for maritime-disputes is not an arms-deals
negative; judgements of watchlists without labelled data are counted and left out). A judged story whose
title and teaser are a held-out item's is dropped, so the held-out figure stays honest; the report says
how many judged items each watchlist gained (relevant / not relevant) and how many were dropped. DEV
items keep the folds they have without judgements; judged items are dealt into folds of their own.
Without ``--judgements`` the report is what it always was. Either way the re-ranker is not shipped
unless its held-out gain's bootstrap interval excludes zero (docs/evaluation.md).

Protocol (docs/evaluation.md): the L2 strength and the decision threshold are chosen by stratified
5-fold cross-validation on DEV (with any judged items) only, maximising the F1 of the out-of-fold
predictions (the vocabulary is rebuilt from the training folds each time). The script reports, per
watchlist:

1. DEV (and judged items), cross-validated: P/R/F1 of the re-ranker at the chosen settings against the
   rules on the same folds (the rules learn nothing, so theirs is their DEV figure). The re-ranker's
   figure is optimistic: its settings were picked as the best of a grid on these very folds.
2. HELD OUT, pooled: the re-ranker trained on all of DEV (and judged items) with the chosen settings,
   against the rules; how many items each gets right that the other gets wrong; a paired bootstrap
   interval of the F1 difference (2,000 resamples, fixed seed); P/R/F1 per held-out file.
3. The 10 heaviest positive and negative features of that model, names only (n-grams come from the
   training side).

It never prints, logs or writes a held-out item's id, title or text, nor which held-out items either
method gets wrong: aggregate figures only (counts, P/R/F1). Before printing, the report is checked for
held-out ids and refused if one slipped in. Everything is deterministic (fixed seed, Newton's method).

    .venv/bin/python bench/eval_reranker.py                  # the full report (about 40 s)
    .venv/bin/python bench/eval_reranker.py --l2 1 10        # a smaller grid of L2 strengths
    .venv/bin/python bench/eval_reranker.py --judgements newswatch.db   # with the analysts' judgements

Settings read: ``watchlists`` and ``gazetteer`` of config.yaml (or --config); ``seen_while_writing_rules``
of bench/baseline.json; the ``judgements``, ``stories`` and ``articles`` of each --judgements store.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from alerts.match.models import Document  # noqa: E402
from bench.eval_watchlists import (  # noqa: E402
    LABELS,
    NEWS,
    Item,
    LabelFile,
    Rates,
    compile_config,
    default_label_paths,
    held_out,
    load_baseline,
    load_texts,
    pooled,
    read_label_file,
    seen_while_writing_rules,
)
from bench.judgements import JudgedStore, drop_held_out_copies, read_judged  # noqa: E402
from bench.logistic import Coo, Indices, Vector, fit_logistic  # noqa: E402
from crawler.errors import StoreError  # noqa: E402

SEED = 20261202
FOLDS = 5
# Strongest first: on a tie of cross-validated F1 the simpler model wins.
L2_GRID = (1000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0, 0.3, 0.1)
# Candidate decision thresholds on the predicted probability.
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.01), 2)
BOOTSTRAP = 2000
TOP = 10
_WORD = re.compile(r"\w+")


# --- features -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleView:
    """What one watchlist's rules say about one item: satisfied rules, score over threshold, verdict."""

    rules: frozenset[str]
    score: float  # total score divided by the watchlist's threshold (1.0 = just enough)
    matched: bool


def rule_views(items: Sequence[Item], config: Path) -> tuple[dict[str, tuple[str, ...]], list[dict[str, RuleView]]]:
    """The default rules' view of each item, per labelled watchlist.

    Args:
        items: the items to match (title as title, teaser as lead, as bench/eval_watchlists.py does).
        config: the config.yaml whose watchlists and gazetteer are compiled.

    Returns:
        The rule names of each labelled watchlist in config order, and per item (same order as `items`)
        the view of every labelled watchlist.

    Raises:
        ValueError: a labelled watchlist is missing from the config.
    """
    specs, matcher = compile_config(config)
    by_name = {spec.name: spec for spec in specs}
    missing = [name for name in LABELS if name not in by_name]
    if missing:
        raise ValueError(f"{config}: no watchlist named {', '.join(missing)}; the labels are for {list(LABELS)}")
    names = {name: tuple(rule.name for rule in by_name[name].rules) for name in LABELS}
    views: list[dict[str, RuleView]] = []
    for item in items:
        found = {m.watchlist: m for m in matcher.match(Document(title=item.title, lead=item.text))}
        views.append({name: RuleView(frozenset(found[name].rules), found[name].score / found[name].threshold,
                                     found[name].matched) for name in LABELS})
    return names, views


def ngrams(item: Item) -> frozenset[str]:
    """Lower-cased word unigrams and bigrams of the title and of the teaser, each field on its own."""
    grams: set[str] = set()
    for text in (item.title, item.text):
        words = _WORD.findall(text.lower())
        grams.update(words)
        grams.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return frozenset(grams)


def vocabulary(grams: Iterable[frozenset[str]], min_items: int = 2) -> tuple[str, ...]:
    """The n-grams found in at least `min_items` of the training items, sorted (so columns are stable)."""
    counts: Counter[str] = Counter()
    for found in grams:
        counts.update(found)
    return tuple(sorted(gram for gram, count in counts.items() if count >= min_items))


@dataclass(frozen=True, slots=True)
class Design:
    """The feature matrix of some items for one watchlist, and the name of each column."""

    x: Coo
    names: tuple[str, ...]


def design(views: Sequence[RuleView], grams: Sequence[frozenset[str]], rule_names: Sequence[str],
           vocab: Sequence[str]) -> Design:
    """Rule features then n-gram features (n-grams outside `vocab` are dropped).

    Args:
        views: the rules' view of each item, for this watchlist.
        grams: the n-grams of each item (see `ngrams`).
        rule_names: the watchlist's rule names, in config order.
        vocab: the n-grams that get a column, from the training items only.

    Returns:
        Columns ``rule:NAME`` (0/1), ``rules:score`` (score / threshold), ``rules:verdict`` (0/1), then
        ``word:W`` and ``words:W1 W2`` (0/1).
    """
    rule_column = {name: i for i, name in enumerate(rule_names)}
    score_col, verdict_col = len(rule_names), len(rule_names) + 1
    first_gram = len(rule_names) + 2
    gram_column = {gram: first_gram + i for i, gram in enumerate(vocab)}
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    for row, (view, found) in enumerate(zip(views, grams, strict=True)):
        cells = [(rule_column[name], 1.0) for name in view.rules if name in rule_column]
        cells += [(score_col, view.score), (verdict_col, float(view.matched))]
        cells += [(gram_column[gram], 1.0) for gram in found if gram in gram_column]
        for col, value in sorted(cells):
            if value:
                rows.append(row)
                cols.append(col)
                data.append(value)
    names = (*(f"rule:{n}" for n in rule_names), "rules:score", "rules:verdict",
             *(f"{'words' if ' ' in g else 'word'}:{g}" for g in vocab))
    x = Coo(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(data, dtype=np.float64),
            (len(views), len(names)))
    return Design(x, names)


# --- scoring and cross-validation -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts(Rates):
    """True positives, false positives and false negatives of one method on some items."""

    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, predicted: NDArray[np.bool_], wanted: NDArray[np.bool_]) -> Counts:
        """Compare 0/1 predictions with the labels."""
        return cls(int(np.sum(predicted & wanted)), int(np.sum(predicted & ~wanted)),
                   int(np.sum(~predicted & wanted)))


def stratified_folds(strata: Sequence[object], folds: int = FOLDS, seed: int = SEED) -> Indices:
    """A fold number per item: each stratum shuffled (fixed seed) and dealt out in turn."""
    rng = np.random.default_rng(seed)
    assigned = np.zeros(len(strata), dtype=np.int64)
    offset = 0
    for stratum in sorted(set(map(repr, strata))):
        members = np.array([i for i, s in enumerate(strata) if repr(s) == stratum], dtype=np.int64)
        members = members[rng.permutation(len(members))]
        assigned[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    return assigned


def best_threshold(probability: Vector, wanted: NDArray[np.bool_]) -> tuple[float, float]:
    """The candidate threshold with the highest F1 (the lowest such one), and that F1."""
    f1s = [Counts.of(probability >= t, wanted).f1 for t in THRESHOLDS]
    best = int(np.argmax(f1s))
    return float(THRESHOLDS[best]), f1s[best]


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """Out-of-fold probabilities of each L2 strength, and the chosen strength and threshold."""

    out_of_fold: dict[float, Vector] = field(repr=False)
    l2: float
    threshold: float
    f1_by_l2: dict[float, float]
    not_converged: int


def cross_validate(views: Sequence[RuleView], grams: Sequence[frozenset[str]], rule_names: Sequence[str],
                   wanted: NDArray[np.bool_], folds: Indices, grid: Sequence[float]) -> CrossValidation:
    """Out-of-fold probabilities per L2 strength (vocabulary rebuilt per training part); pick the best.

    Args:
        views: the rules' view of each DEV item, for this watchlist.
        grams: the n-grams of each DEV item.
        rule_names: the watchlist's rule names.
        wanted: the label of each DEV item.
        folds: the fold number of each DEV item.
        grid: the L2 strengths to try, in order of preference on a tie.

    Returns:
        The out-of-fold probabilities and the (L2, threshold) pair with the highest out-of-fold F1.
    """
    probabilities = {l2: np.zeros(len(views)) for l2 in grid}
    not_converged = 0
    for fold in range(int(folds.max()) + 1):
        train = [int(i) for i in np.flatnonzero(folds != fold)]
        test = [int(i) for i in np.flatnonzero(folds == fold)]
        vocab = vocabulary(grams[i] for i in train)
        train_x = design([views[i] for i in train], [grams[i] for i in train], rule_names, vocab).x
        test_x = design([views[i] for i in test], [grams[i] for i in test], rule_names, vocab).x
        for l2 in grid:
            model = fit_logistic(train_x, wanted[train].astype(np.float64), l2)
            not_converged += not model.converged
            probabilities[l2][test] = model.probability(test_x)
    chosen = {l2: best_threshold(probabilities[l2], wanted) for l2 in grid}
    l2 = max(grid, key=lambda value: (chosen[value][1], -grid.index(value)))
    return CrossValidation(probabilities, l2, chosen[l2][0], {k: v[1] for k, v in chosen.items()}, not_converged)


def bootstrap_f1_difference(ours: NDArray[np.bool_], theirs: NDArray[np.bool_], wanted: NDArray[np.bool_],
                            resamples: int = BOOTSTRAP, seed: int = SEED,
                            level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of F1(ours) - F1(theirs) over items resampled with replacement (the 2.5%
    and 97.5% quantiles at 0.95)."""
    rng = np.random.default_rng(seed)
    n = len(wanted)
    picks = rng.integers(0, n, size=(resamples, n))

    def f1(predicted: NDArray[np.bool_]) -> Vector:
        tp = np.sum(predicted[picks] & wanted[picks], axis=1)
        errors = np.sum(predicted[picks] ^ wanted[picks], axis=1)
        denominator = 2 * tp + errors
        return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)

    difference = f1(ours) - f1(theirs)
    low, high = np.quantile(difference, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


# --- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchlistResult:
    """Every figure of one watchlist (aggregates only: no item of the held-out set is kept)."""

    name: str
    cv: CrossValidation = field(repr=False)
    dev_rules: Counts
    dev_reranker: Counts
    fold_f1: tuple[tuple[float, float], ...]  # (rules, re-ranker) per fold
    held_rules: Counts
    held_reranker: Counts
    only_reranker_right: int
    only_rules_right: int
    interval: tuple[float, float]
    level: float  # of the interval: 0.95 unless --level says otherwise
    by_file: tuple[tuple[str, int, Counts, Counts], ...]  # (file, items, rules, re-ranker)
    features: int
    heaviest: tuple[str, ...]
    lightest: tuple[str, ...]
    converged: bool


@dataclass(frozen=True, slots=True)
class Data:
    """DEV and HELD-OUT items with the rules' view and n-grams of each, and each held-out item's file.

    Judged items (the analysts' judgements, `--judgements`) are training data like DEV, but each is
    labelled only for the watchlists its story was judged for; `training_set` picks a watchlist's.
    """

    dev: list[Item]
    held: list[Item]
    rule_names: dict[str, tuple[str, ...]]
    dev_views: list[dict[str, RuleView]] = field(repr=False)
    held_views: list[dict[str, RuleView]] = field(repr=False)
    held_files: list[str] = field(repr=False)
    dev_files: tuple[str, ...]
    judged: list[Item] = field(default_factory=list, repr=False)
    judged_views: list[dict[str, RuleView]] = field(default_factory=list, repr=False)
    stores: tuple[JudgedStore, ...] = ()
    dropped: dict[str, int] = field(default_factory=dict)  # judged items copying a held-out one, by watchlist


def load_data(files: Sequence[LabelFile], seen: frozenset[str], config: Path,
              stores: Sequence[JudgedStore] = ()) -> Data:
    """Split the headline label files into DEV and HELD OUT as bench/eval_watchlists.py does, and match them.

    The judged items of `stores` join the training side, minus those whose title and teaser are a
    held-out item's (`drop_held_out_copies`), counted per watchlist they were judged for.

    Raises:
        ValueError: nothing is held out, or nothing is DEV.
    """
    dev = pooled([f for f in files if f.name in seen])
    held = held_out(files, seen)
    if not dev or not held:
        raise ValueError("need both DEV items (files in seen_while_writing_rules) and held-out items; "
                         f"got {len(dev)} and {len(held)}")
    file_of = {item.id: f.name for f in files if f.name not in seen for item in f.items}
    judged, dropped = drop_held_out_copies((item for store in stores for item in store.items), held)
    names, views = rule_views([*dev, *held, *judged], config)
    split = len(dev) + len(held)
    return Data(dev, held, names, views[: len(dev)], views[len(dev): split], [file_of[item.id] for item in held],
                tuple(f.name for f in files if f.name in seen), judged, views[split:], tuple(stores),
                dict(Counter(name for item in dropped for name in item.labels)))


@dataclass(frozen=True, slots=True)
class Training:
    """One watchlist's training side: DEV, then the judged items labelled for it, each with its fold."""

    items: list[Item] = field(repr=False)
    views: list[RuleView] = field(repr=False)
    wanted: NDArray[np.bool_] = field(repr=False)
    folds: Indices = field(repr=False)


def judged_for(data: Data, name: str) -> list[int]:
    """The positions in ``data.judged`` of the items judged for watchlist `name`."""
    return [i for i, item in enumerate(data.judged) if name in item.labels]


def training_set(data: Data, name: str, dev_folds: Indices) -> Training:
    """DEV plus the judged items that carry a label for `name` (no label is invented for the others).

    DEV keeps the folds it has without judgements, so adding judgements moves no DEV item between
    folds; the judged items are dealt into folds of their own, stratified by their label.
    """
    mine = judged_for(data, name)
    judged = [data.judged[i] for i in mine]
    items = [*data.dev, *judged]
    return Training(
        items,
        [v[name] for v in data.dev_views] + [data.judged_views[i][name] for i in mine],
        np.array([item.labels[name] for item in items], dtype=np.bool_),
        np.concatenate([dev_folds, stratified_folds([item.labels[name] for item in judged])]),
    )


def run_watchlist(data: Data, name: str, dev_folds: Indices, grid: Sequence[float],
                  level: float = 0.95) -> WatchlistResult:
    """Cross-validate on the training side, train on all of it, score the held-out pool (aggregates only)."""
    rule_names = data.rule_names[name]
    training = training_set(data, name, dev_folds)
    folds = training.folds
    dev_views = training.views
    held_views = [v[name] for v in data.held_views]
    dev_grams = [ngrams(item) for item in training.items]
    held_grams = [ngrams(item) for item in data.held]
    dev_wanted = training.wanted
    held_wanted = np.array([item.labels[name] for item in data.held])
    dev_rules = np.array([v.matched for v in dev_views])
    held_rules = np.array([v.matched for v in held_views])

    cv = cross_validate(dev_views, dev_grams, rule_names, dev_wanted, folds, grid)
    dev_ours = cv.out_of_fold[cv.l2] >= cv.threshold
    fold_f1 = tuple(
        (Counts.of(dev_rules[folds == k], dev_wanted[folds == k]).f1,
         Counts.of(dev_ours[folds == k], dev_wanted[folds == k]).f1)
        for k in range(int(folds.max()) + 1)
    )

    vocab = vocabulary(dev_grams)
    train = design(dev_views, dev_grams, rule_names, vocab)
    model = fit_logistic(train.x, dev_wanted.astype(np.float64), cv.l2)
    held_ours = model.probability(design(held_views, held_grams, rule_names, vocab).x) >= cv.threshold
    order = np.argsort(-model.weights, kind="stable")
    heaviest = tuple(train.names[i] for i in order[:TOP] if model.weights[i] > 0)
    lightest = tuple(train.names[i] for i in order[::-1][:TOP] if model.weights[i] < 0)

    files = np.array(data.held_files)
    by_file = tuple(
        (file, int(np.sum(files == file)), Counts.of(held_rules[files == file], held_wanted[files == file]),
         Counts.of(held_ours[files == file], held_wanted[files == file]))
        for file in sorted(set(data.held_files))
    )
    return WatchlistResult(
        name, cv, Counts.of(dev_rules, dev_wanted), Counts.of(dev_ours, dev_wanted), fold_f1,
        Counts.of(held_rules, held_wanted), Counts.of(held_ours, held_wanted),
        int(np.sum((held_ours == held_wanted) & (held_rules != held_wanted))),
        int(np.sum((held_rules == held_wanted) & (held_ours != held_wanted))),
        bootstrap_f1_difference(held_ours, held_rules, held_wanted, level=level), level, by_file, len(train.names),
        heaviest, lightest,
        model.converged and cv.not_converged == 0,
    )


def _prf(c: Counts) -> str:
    return f"P {c.precision:.3f}  R {c.recall:.3f}  F1 {c.f1:.3f}  (TP {c.tp:3} FP {c.fp:3} FN {c.fn:3})"


def _judged_summary(data: Data) -> list[str]:
    """What the analysts' judgements added: per store, the stories read and the judgements left unused."""
    read = sum(len(store.items) for store in data.stores)
    out = [f"JUDGED (training and CV only, never held out): {read} judged stories from {len(data.stores)} store(s); "
           f"{read - len(data.judged)} dropped (same title and teaser as a held-out item)"]
    for store in data.stores:
        unused = [f"{store.missing} on stories no longer stored"] if store.missing else []
        unused += [f"{n} for {name}" for name, n in store.other_watchlists.items()]
        out.append(f"  {store.path}: {len(store.items)} stories"
                   + (f"; judgements not used: {', '.join(unused)}" if unused else ""))
    if any(store.other_watchlists for store in data.stores):
        out.append(f"  (only watchlists with labelled data are trained: {', '.join(LABELS)})")
    return out


def _judged_line(data: Data, name: str) -> str:
    """How many judged items of one watchlist joined its training side, and how many were dropped."""
    labels = [data.judged[i].labels[name] for i in judged_for(data, name)]
    return (f"  judged: +{sum(labels)} relevant, +{len(labels) - sum(labels)} not relevant added to DEV for training "
            f"and CV; {data.dropped.get(name, 0)} dropped (same title and teaser as a held-out item)")


def render(data: Data, results: Sequence[WatchlistResult], grid: Sequence[float], seconds: float) -> str:
    """The report: settings, DEV cross-validation, held-out pool, heaviest features, verdict per watchlist."""
    held_counts = Counter(data.held_files)
    train = "DEV + judged" if data.stores else "DEV"
    out = [
        "re-ranker (L2 logistic regression on the rules' per-rule indicators, score and verdict, and title/teaser "
        "word 1-2-grams in >= 2 training items) vs the default rules",
        f"DEV: {len(data.dev)} items ({', '.join(data.dev_files)}); HELD OUT: {len(data.held)} items, pooled "
        f"({', '.join(f'{k} {v}' for k, v in sorted(held_counts.items()))})",
        *(_judged_summary(data) if data.stores else []),
        f"settings chosen by {FOLDS}-fold stratified CV on {train} (seed {SEED}), maximising out-of-fold F1: L2 in "
        f"{list(grid)}, threshold in {THRESHOLDS[0]:.2f}..{THRESHOLDS[-1]:.2f} step 0.01",
    ]
    for r in results:
        dev_pos = sum(item.labels[r.name] for item in data.dev)
        held_pos = sum(item.labels[r.name] for item in data.held)
        rules_f1 = " ".join(f"{a:.3f}" for a, _ in r.fold_f1)
        ours_f1 = " ".join(f"{b:.3f}" for _, b in r.fold_f1)
        out += [
            "",
            f"== {r.name}: {dev_pos} DEV positives, {held_pos} held-out positives; {r.features} features",
            *([_judged_line(data, r.name)] if data.stores else []),
            f"  chosen: L2 {r.cv.l2:g}, threshold {r.cv.threshold:.2f}   (CV F1 by L2: "
            + ", ".join(f"{k:g} {v:.3f}" for k, v in r.cv.f1_by_l2.items()) + ")",
            f"  {train}, {FOLDS}-fold CV (out-of-fold, pooled over folds; re-ranker settings picked on these folds):",
            f"    rules      {_prf(r.dev_rules)}",
            f"    re-ranker  {_prf(r.dev_reranker)}",
            f"    F1 per fold: rules {rules_f1} | re-ranker {ours_f1}",
            f"  HELD OUT, pooled (re-ranker trained on all {train} with the chosen settings):",
            f"    rules      {_prf(r.held_rules)}",
            f"    re-ranker  {_prf(r.held_reranker)}",
            f"    F1 re-ranker - rules {r.held_reranker.f1 - r.held_rules.f1:+.3f}, paired bootstrap "
            f"{r.level:.0%} interval [{r.interval[0]:+.3f}, {r.interval[1]:+.3f}]; items only the re-ranker gets right "
            f"{r.only_reranker_right}, only the rules {r.only_rules_right}",
        ]
        for file, n, rules, ours in r.by_file:
            out.append(f"    {file:12} ({n:4}) rules F1 {rules.f1:.3f} (P {rules.precision:.3f} R {rules.recall:.3f}) "
                       f"| re-ranker F1 {ours.f1:.3f} (P {ours.precision:.3f} R {ours.recall:.3f})")
        out += [
            f"  heaviest positive features: {', '.join(r.heaviest)}",
            f"  heaviest negative features: {', '.join(r.lightest)}",
        ]
        if not r.converged:
            out.append("  WARNING: a fit stopped before converging (max Newton steps); figures may move")
    out += ["", "verdict (held-out F1, re-ranker vs rules):"]
    for r in results:
        low, high = r.interval
        word = ("better" if low > 0 else "worse" if high < 0 else "no clear difference") + \
            f" ({r.level:.0%} interval " + ("excludes" if low > 0 or high < 0 else "includes") + " 0)"
        out.append(f"  {r.name:18} rules {r.held_rules.f1:.3f}  re-ranker {r.held_reranker.f1:.3f}: {word}")
    out.append(f"\n({seconds:.0f} s; held-out items are reported as aggregates only)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml",
                        help="the config whose watchlists are the rules (default: config.yaml)")
    parser.add_argument("--l2", type=float, nargs="+", default=list(L2_GRID), metavar="STRENGTH",
                        help=f"L2 strengths to try, preferred first on a tie (default: {' '.join(map(str, L2_GRID))})")
    parser.add_argument("--judgements", type=Path, action="append", default=[], metavar="DB",
                        help="a newswatch database whose analysts' judgements join DEV for training and CV, "
                             "never the held-out side (repeatable)")
    parser.add_argument("--level", type=float, default=0.95,
                        help="confidence level of the bootstrap interval (default 0.95). Each run that reads the "
                             "held-out figures is one more look at them: docs/evaluation.md says which level a "
                             "shipping decision uses")
    args = parser.parse_args(argv)
    if not 0 < args.level < 1:
        print(f"--level must be between 0 and 1, got {args.level}", file=sys.stderr)
        return 2
    if not NEWS.is_dir():
        print(f"corpus not found at {NEWS} (clone ../shared beside the project)", file=sys.stderr)
        return 2
    if any(value <= 0 for value in args.l2):
        print(f"--l2 values must be positive, got {args.l2}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    texts = load_texts()
    try:
        stores = [read_judged(path, tuple(LABELS), str(n)) for n, path in enumerate(args.judgements, 1)]
        files = [read_label_file(path, texts) for path in default_label_paths()]
        data = load_data(files, seen_while_writing_rules(load_baseline()), args.config, stores)
    except (ValueError, FileNotFoundError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 2
    grid = tuple(args.l2)
    folds = stratified_folds([tuple(item.labels[name] for name in LABELS) for item in data.dev])
    results = [run_watchlist(data, name, folds, grid, args.level) for name in LABELS]
    report = render(data, results, grid, time.perf_counter() - started)
    if any(item.id in report for item in data.held):
        print("refusing to print: the report names a held-out item (a bug in this script)", file=sys.stderr)
        return 3
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
