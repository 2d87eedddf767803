"""Score the default watchlists on every labelled file, beside a naive keyword query, with a cross-split figure.

Label files hold one ``{"id", "maritime_dispute", "arms_deal"}`` a line; the title and teaser of each item
are joined by id from the other ``*.jsonl`` files of ../shared/corpus/news. By default the script scores
../shared/corpus/news/labels-dev.jsonl and every bench/labels/*.jsonl (not bench/labels/annotators/). It
matches every item with the watchlists of config.yaml (title as title, teaser as lead) and prints
precision, recall, F1 and TP/FP/FN per watchlist, for the rules and for a Google-Alerts-like keyword
query: per file, per outlet family (AG News 2004, HuffPost 2018–22, RSS 2023, RSS 2024, from the id
prefix), pooled over all files, and the **cross-split** figure: the rules, unchanged, on the held-out
items — every labelled item not in a file listed under ``seen_while_writing_rules`` in bench/baseline.json
(the files looked at while the rules were written).

Full text: when bench/labels/fulltext/pages.jsonl exists (ids are paths under ../shared/corpus, e.g.
``pages/fundus-test-data/tw/TaipeiTimes_2024_10_15.html.gz``), each page is extracted as the crawler
extracts it (``crawler.extract.extract_article``: title and body) with the page's description meta tag as
the lead (the crawler's lead is the feed summary, which outlets fill from the same description), and
scored as its own scope, ``fulltext``, beside the keyword query on title + description + body. It is held
out like any label file not in ``seen_while_writing_rules``; it is not part of the pool or the cross-split
(those are headlines and teasers). Extractions are cached in ``.cache/eval-fulltext.json`` (keyed by
path, size and modification time) so a second run takes seconds.

The false positives and negatives (id and title) are listed for the seen (dev) files only. Held-out
items are only ever shown as aggregate figures unless ``--show-held-out-errors`` is given, which spends
the held-out set (docs/evaluation.md says what that means and what to do then). ``Score`` keeps its
items out of its repr, so a failing assertion on a held-out figure cannot print them either.

    .venv/bin/python bench/eval_watchlists.py            # report
    .venv/bin/python bench/eval_watchlists.py --check    # exit 1 if a figure is below its floor
    .venv/bin/python bench/eval_watchlists.py --quiet    # figures only, no FP/FN lists
    .venv/bin/python bench/eval_watchlists.py --labels ../shared/corpus/news/labels-dev.jsonl

Settings read: ``watchlists`` and ``gazetteer`` of config.yaml (or --config); ``watchlists`` (the
labels-dev floors), ``floors`` (the other floors, by scope, ``fulltext`` included) and
``seen_while_writing_rules`` of bench/baseline.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from alerts.match.gazetteer import load_gazetteer  # noqa: E402
from alerts.match.matcher import Matcher, compile_matcher  # noqa: E402
from alerts.match.models import Document  # noqa: E402
from alerts.match.watchlist import WatchlistSpec, parse_watchlists  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
NEWS = CORPUS / "news"
LABEL_DIR = ROOT / "bench" / "labels"
FULLTEXT = LABEL_DIR / "fulltext" / "pages.jsonl"
FULLTEXT_SCOPE = "fulltext"
FULLTEXT_CACHE = ROOT / ".cache" / "eval-fulltext.json"
BASELINE = ROOT / "bench" / "baseline.json"
# Headlines written for newswatch (so their text may live in the repo): id prefixes ``written-``,
# ``written2-``, ... (held out) and ``writtendev-``, ``writtendev2-``, ... (more samples drawn the same way,
# for development).
# Every ``tests/data/written*_headlines.jsonl`` is one such sample, so a new one needs no edit here.
OWN_TEXTS = tuple(sorted((ROOT / "tests" / "data").glob("written*_headlines.jsonl")))
LABELS = {"maritime-disputes": "maritime_dispute", "arms-deals": "arms_deal"}
METRICS = ("precision", "recall", "f1")
# Outlet family by id prefix (a regular expression matched at the id's start): one period and one kind of
# outlet each. Written samples are numbered (``written2-``, ``writtendev7-``), so a new one needs no line here.
FAMILIES = (
    ("agnews-", "AG News 2004"),
    ("huffpost-", "HuffPost 2018–22"),
    ("rss2023-", "RSS 2023"),
    ("rss2024-", "RSS 2024"),
    (r"written\d*-", "written 2026"),
    (r"writtendev\d*-", "written 2026 (dev)"),
    ("pages/", "full-text pages"),
    ("extraction/", "full-text pages"),
)
POOLED, CROSS_SPLIT, DEV = "pooled", "cross-split", "dev"
# Bootstrap of each F1 (``f1_interval``): resampled sets, and a fixed seed so that a run prints what the last
# one did for the same counts.
INTERVAL_ROUNDS = 4000
INTERVAL_SEED = 14

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
    """A labelled item: a headline and teaser (``text`` is the lead), or a full-text page (with ``body``)."""

    id: str
    title: str
    text: str
    labels: dict[str, bool]
    body: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class LabelFile:
    """One label file: its name (the file name without ``.jsonl``, as baseline.json names it) and items."""

    name: str
    path: Path
    items: tuple[Item, ...]
    fulltext: bool = False  # pages (title, lead, body), scored as their own scope, not pooled


class Rates:
    """Precision, recall and F1 from ``tp``, ``fp`` and ``fn`` (0.0 where there is no denominator).

    A mixin for the dataclasses that count (``Score`` here, ``Counts`` in bench/eval_reranker.py), so the
    two scripts cannot drift apart in how they compute a figure.
    """

    __slots__ = ()
    tp: int
    fp: int
    fn: int

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


@dataclass(frozen=True, slots=True)
class Score(Rates):
    tp: int
    fp: int
    fn: int
    # Out of the repr: a failing assertion on a held-out figure must not print held-out items.
    false_pos: tuple[Item, ...] = field(repr=False)
    false_neg: tuple[Item, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Scope:
    """The figures of one set of items: a file, a family within it, the pool or the held-out items."""

    name: str  # "labels-dev", "labels-dev / AG News 2004", "pooled", "cross-split", "cross-split / RSS 2024"
    items: int
    held_out: bool  # every item of it is held out (never looked at while writing rules)
    rules: dict[str, Score]
    keywords: dict[str, Score]


def family_of(item_id: str) -> str:
    """The outlet family of an item, from its id prefix.

    Args:
        item_id: an id of ../shared/corpus/news, e.g. ``rss2024-0023e3c39f1a6243``.

    Returns:
        The family name, e.g. ``RSS 2024``.

    Raises:
        ValueError: the id has none of the known prefixes.
    """
    for prefix, family in FAMILIES:
        if re.match(prefix, item_id):
            return family
    known = ", ".join(prefix for prefix, _ in FAMILIES)
    raise ValueError(f"item id {item_id!r} has no known family prefix ({known}); add its prefix to FAMILIES")


def load_texts(folder: Path = NEWS, own: Sequence[Path] = OWN_TEXTS) -> dict[str, tuple[str, str]]:
    """Title and teaser by id, from every ``*.jsonl`` of `folder` except the label files, and `own`.

    `own` are headlines written for newswatch (tests/data/written_headlines.jsonl): text that is ours, so it
    is kept in the repo rather than in ../shared.
    """
    texts: dict[str, tuple[str, str]] = {}
    paths = [p for p in sorted(folder.glob("*.jsonl")) if not p.name.startswith("labels")]
    for path in [*paths, *(p for p in own if p.exists())]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts[row["id"]] = (row.get("title") or "", row.get("text") or "")
    return texts


def read_label_file(path: Path, texts: Mapping[str, tuple[str, str]]) -> LabelFile:
    """The labelled items of one label file, with their text joined by id.

    Args:
        path: a JSON Lines file of ``{"id", "maritime_dispute", "arms_deal"}``.
        texts: title and teaser by id (see `load_texts`).

    Returns:
        The file, named after its file name without ``.jsonl``.

    Raises:
        ValueError: an id appears twice, has no text in the corpus or no known family prefix.
    """
    items: list[Item] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        item_id = row["id"]
        family_of(item_id)
        if item_id in seen:
            raise ValueError(f"{path}:{number}: id {item_id} appears twice; keep one label per item")
        if item_id not in texts:
            raise ValueError(f"{path}:{number}: id {item_id} is not in the corpus; check ../shared/corpus/news")
        seen.add(item_id)
        title, text = texts[item_id]
        items.append(Item(item_id, title, text, {k: bool(row[v]) for k, v in LABELS.items()}))
    return LabelFile(path.name.removesuffix(".jsonl"), path, tuple(items))


def load_items(folder: Path = NEWS) -> list[Item]:
    """Labelled items of labels-dev.jsonl with their title and teaser."""
    return list(read_label_file(folder / "labels-dev.jsonl", load_texts(folder)).items)


def _description(page: str) -> str:
    """The page's description meta tag (``og:description``, ``description`` or ``twitter:description``)."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(page[:200_000])
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in ("og:description", "description", "twitter:description") and meta.get("content"):
            found.setdefault(key, " ".join(meta.get("content", "").split()))
    return next((found[k] for k in ("og:description", "description", "twitter:description") if k in found), "")


def _page_file(path: Path) -> Path:
    """The HTML file of a page id: the file itself, or the ``source.html`` of a test-page folder."""
    if path.is_dir():
        for name in ("source.html", "source.html.gz", "index.html"):
            if (path / name).is_file():
                return path / name
        raise ValueError(f"{path} is a folder with no source.html; point the label at the page file")
    return path


def extract_page(path: Path) -> tuple[str, str, str]:
    """Title, lead (description) and body of a saved page, as the crawler would match them.

    Args:
        path: an ``.html`` or ``.html.gz`` file (or a folder holding ``source.html``).

    Returns:
        ``(title, lead, body)``: the extracted title and text (``crawler.extract.extract_article``) and
        the page's description meta tag, empty when it has none or repeats the body's opening.
    """
    import gzip

    from crawler.encoding import decode_markup
    from crawler.extract import extract_article

    data = _page_file(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    article = extract_article(data, path.resolve().as_uri())
    page, _ = decode_markup(data)
    lead = _description(page)
    if lead and article.text.startswith(lead[:80]):
        lead = ""  # the description is the body's first lines: counting them twice would inflate a hit
    return article.title, lead, article.text


def read_fulltext_file(path: Path, corpus: Path = CORPUS, cache: Path | None = FULLTEXT_CACHE) -> LabelFile:
    """The labelled full-text pages, extracted (through a cache keyed by path, size and mtime).

    Args:
        path: a JSON Lines file of ``{"id", "maritime_dispute", "arms_deal"}``, ids being paths under `corpus`.
        corpus: the ../shared/corpus folder.
        cache: a JSON file of earlier extractions, or None for none.

    Returns:
        The file, named ``fulltext``, its items carrying title, lead (``text``) and body.

    Raises:
        ValueError: an id appears twice or names no file under `corpus`.
    """
    cached: dict[str, list[object]] = {}
    if cache is not None and cache.exists():
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cached = {}
    changed = False
    items: list[Item] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        page_id = row["id"]
        if page_id in seen:
            raise ValueError(f"{path}:{number}: id {page_id} appears twice; keep one label per page")
        seen.add(page_id)
        file = corpus / page_id
        if not file.exists():
            raise ValueError(f"{path}:{number}: page {page_id} is not under {corpus}; check ../shared/corpus")
        stat = _page_file(file).stat()
        key = f"{stat.st_size}:{stat.st_mtime_ns}"
        hit = cached.get(page_id)
        if hit is not None and hit[0] == key:
            title, lead, body = (str(x) for x in hit[1:4])
        else:
            title, lead, body = extract_page(file)
            cached[page_id] = [key, title, lead, body]
            changed = True
        items.append(Item(page_id, title, lead, {k: bool(row[v]) for k, v in LABELS.items()}, body))
    if cache is not None and changed:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(cached), encoding="utf-8")
    return LabelFile(FULLTEXT_SCOPE, path, tuple(items), fulltext=True)


def default_label_paths(news: Path = NEWS, labels: Path = LABEL_DIR) -> list[Path]:
    """labels-dev.jsonl of the corpus, then every ``*.jsonl`` directly in bench/labels (not annotators/)."""
    return [news / "labels-dev.jsonl", *sorted(labels.glob("*.jsonl"))]


def load_baseline(path: Path = BASELINE) -> dict[str, object]:
    """bench/baseline.json as a dict."""
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def seen_while_writing_rules(baseline: Mapping[str, object]) -> frozenset[str]:
    """Names of the label files looked at while the rules were written (``seen_while_writing_rules``)."""
    names = baseline.get("seen_while_writing_rules")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError('bench/baseline.json needs "seen_while_writing_rules": a list of label file names, '
                         'e.g. ["labels-dev"]')
    return frozenset(names)


def floors(baseline: Mapping[str, object]) -> dict[str, dict[str, dict[str, float]]]:
    """Floors by scope, watchlist and metric: ``watchlists`` is labels-dev's, ``floors`` the others'."""
    by_scope = {"labels-dev": baseline["watchlists"], **(baseline.get("floors") or {})}  # type: ignore[dict-item]
    return cast(dict[str, dict[str, dict[str, float]]], by_scope)


def pooled(files: Sequence[LabelFile]) -> list[Item]:
    """Every item of the files once (an id in two files counts once).

    Raises:
        ValueError: the same id has different labels in two files.
    """
    by_id: dict[str, tuple[Item, str]] = {}
    for file in files:
        for item in file.items:
            if item.id in by_id and by_id[item.id][0].labels != item.labels:
                raise ValueError(f"id {item.id} has different labels in {by_id[item.id][1]} and {file.name}; "
                                 "make the files agree")
            by_id.setdefault(item.id, (item, file.name))
    return [item for item, _ in by_id.values()]


def held_out(files: Sequence[LabelFile], seen: Collection[str]) -> list[Item]:
    """The items never looked at while writing rules: in no file named in `seen`.

    Args:
        files: the label files of the run.
        seen: names of the files looked at while writing rules.

    Returns:
        The items of the other files, each once, minus any id that is also in a seen file.
    """
    dev_ids = {item.id for file in files if file.name in seen for item in file.items}
    return [item for item in pooled([f for f in files if f.name not in seen]) if item.id not in dev_ids]


def by_family(items: Iterable[Item]) -> dict[str, list[Item]]:
    """Items grouped by outlet family, in the order of FAMILIES (families with no item left out)."""
    groups: dict[str, list[Item]] = {family: [] for _, family in FAMILIES}
    for item in items:
        groups[family_of(item.id)].append(item)
    return {family: members for family, members in groups.items() if members}


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


Verdicts = dict[str, dict[str, bool]]  # item id -> watchlist -> flagged


def compile_config(config: Path = ROOT / "config.yaml") -> tuple[list[WatchlistSpec], Matcher]:
    """The watchlists of a config file as written (no ${VAR} expansion, no other section read), compiled."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    specs = parse_watchlists(raw.get("watchlists") or [])
    return specs, compile_matcher(specs, load_gazetteer(raw.get("gazetteer") or []))


def rule_verdicts(items: Iterable[Item], config: Path = ROOT / "config.yaml") -> Verdicts:
    """What the configured watchlists (only those with labels) say about each item."""
    _, matcher = compile_config(config)
    names = [name for name in LABELS if name in matcher.watchlist_names]
    verdicts: Verdicts = {}
    for item in items:
        document = Document(title=item.title, lead=item.text, body=item.body)
        flagged = {m.watchlist: m.matched for m in matcher.match(document)}
        verdicts[item.id] = {name: flagged.get(name, False) for name in names}
    return verdicts


def keyword_verdicts(items: Iterable[Item]) -> Verdicts:
    """What the keyword query says about each item."""
    return {
        item.id: {name: bool(rx.search(f"{item.title} {item.text} {item.body}")) for name, rx in _BASELINE.items()}
        for item in items
    }


def score_all(items: Sequence[Item], verdicts: Verdicts) -> dict[str, Score]:
    """Scores per watchlist of the verdicts on the items (watchlists absent from the verdicts left out)."""
    names = next(iter(verdicts.values())).keys() if verdicts else LABELS.keys()

    def flagged(name: str) -> Callable[[Item], bool]:
        return lambda item: verdicts[item.id][name]

    return {name: score(items, name, flagged(name)) for name in LABELS if name in names}


def evaluate(items: list[Item], config: Path = ROOT / "config.yaml") -> dict[str, Score]:
    """Scores of the configured watchlists (only those with labels) on the items."""
    return score_all(items, rule_verdicts(items, config))


def evaluate_baseline(items: list[Item]) -> dict[str, Score]:
    """Scores of the keyword baseline."""
    return score_all(items, keyword_verdicts(items))


def scored_items(files: Sequence[LabelFile]) -> list[Item]:
    """Every item a run matches: each labelled headline once (``pooled``), then every full-text page."""
    pooled_headlines = pooled([f for f in files if not f.fulltext])
    return [*pooled_headlines, *(item for f in files if f.fulltext for item in f.items)]


def measure(files: Sequence[LabelFile], seen: Collection[str], config: Path = ROOT / "config.yaml",
            verdicts: Verdicts | None = None) -> list[Scope]:
    """Every figure of a run: per file and family, pooled and family, cross-split and family.

    Args:
        files: the label files to score.
        seen: names of the files looked at while writing rules (the rest is held out).
        config: the config.yaml whose watchlists are scored.
        verdicts: ``rule_verdicts(scored_items(files), config)`` when the caller has them already (``main``
            shares them with ``compare``), so the items are not matched twice.

    Returns:
        Scopes named ``<file>``, ``<file> / <family>``, ``pooled``, ``pooled / <family>``, ``cross-split``,
        ``cross-split / <family>`` and ``dev`` (every item of the seen files, for comparison). A file or the
        pool gets family scopes when it spans more than one family, the cross-split always; there is no
        cross-split or dev scope when nothing is held out. Full-text files (``fulltext``) are scored as
        their own scope only: the pool, the cross-split and dev are made of headline files.
    """
    pages = [f for f in files if f.fulltext]
    files = [f for f in files if not f.fulltext]
    everything = pooled(files)
    items = scored_items([*files, *pages])
    ours = verdicts if verdicts is not None else rule_verdicts(items, config)
    theirs = keyword_verdicts(items)
    held_ids = {item.id for item in held_out(files, seen)}
    held_ids |= {item.id for f in pages if f.name not in seen for item in f.items}
    scopes: list[Scope] = []

    def add(name: str, items: Sequence[Item], families: str = "several") -> None:
        is_held = bool(items) and all(item.id in held_ids for item in items)
        scopes.append(Scope(name, len(items), is_held, score_all(items, ours), score_all(items, theirs)))
        groups = by_family(items)
        if families == "always" or (families == "several" and len(groups) > 1):
            for family, members in groups.items():
                is_held = all(item.id in held_ids for item in members)
                scopes.append(Scope(f"{name} / {family}", len(members), is_held,
                                    score_all(members, ours), score_all(members, theirs)))

    for file in files:
        add(file.name, file.items)
    if len(files) > 1:
        add(POOLED, everything)
    for file in pages:
        add(file.name, file.items, families="never")
    if any(item.id in held_ids for item in everything):
        add(CROSS_SPLIT, [item for item in everything if item.id in held_ids], families="always")
        add(DEV, [item for item in everything if item.id not in held_ids], families="never")
    return scopes


# An item's part in a watchlist's figures, by index: what a paired bootstrap counts (``compare``).
TP, FP, FN, TN = range(4)


def outcome(flagged: bool, labelled: bool) -> int:
    """``TP``, ``FP``, ``FN`` or ``TN``."""
    if flagged:
        return TP if labelled else FP
    return FN if labelled else TN


@dataclass(frozen=True, slots=True)
class Change:
    """How a rule change moved one watchlist's F1 on one set of items (aggregates only: safe on held-out sets)."""

    scope: str
    watchlist: str
    items: int
    before: float
    after: float
    low: float  # 95% paired bootstrap interval of ``after - before``
    high: float
    fixed: int  # items the change made right
    broken: int  # items it made wrong


def f1_change_interval(pairs: Sequence[tuple[int, int]], rounds: int = INTERVAL_ROUNDS,
                       seed: int = INTERVAL_SEED) -> tuple[float, float]:
    """A 95% paired bootstrap interval of the change in F1 between two configs on the same items.

    Why paired: two rule sets scored on the same items share most of their luck (the same easy and hard
    stories), so the change has a much narrower spread than either figure; comparing the two figures'
    own intervals would call most real changes noise. ``pairs`` holds each item's (before, after) outcome
    (``outcome``); a resampled set is a multinomial draw of the 16 kinds of pair, as in ``f1_interval``,
    and what it leaves out is the same.
    """
    if not pairs:
        return 0.0, 0.0
    counts = np.zeros(16)
    for before, after in pairs:
        counts[4 * before + after] += 1
    draws = np.random.default_rng(seed).multinomial(len(pairs), counts / len(pairs), size=rounds)
    kinds = np.arange(16)

    def f1(side: NDArray[np.int64]) -> NDArray[np.float64]:
        return _f1s(*(draws[:, side == k].sum(axis=1) for k in (TP, FP, FN)))

    low, high = np.percentile(f1(kinds % 4) - f1(kinds // 4), [2.5, 97.5])
    return float(low), float(high)


def _f1s(tp: NDArray[np.int64], fp: NDArray[np.int64], fn: NDArray[np.int64]) -> NDArray[np.float64]:
    """F1 of each resampled set, ``2 TP / (2 TP + FP + FN)``, 0 where nothing is flagged or labelled."""
    denominator = 2 * tp + fp + fn
    out = np.zeros(len(tp))
    return cast(NDArray[np.float64], np.divide(2 * tp, denominator, out=out, where=denominator > 0))


def _counted(outcomes: Sequence[int]) -> Score:
    """A score from items' outcomes (no items kept: ``compare`` reports counts only)."""
    return Score(outcomes.count(TP), outcomes.count(FP), outcomes.count(FN), (), ())


def compare(files: Sequence[LabelFile], seen: Collection[str], before: Path, after: Path,
            after_verdicts: Verdicts | None = None) -> list[Change]:
    """The change in F1 from ``before``'s watchlists to ``after``'s on every file, the cross-split and dev.

    What a rule change is judged by (docs/evaluation.md): the change on the dev items, the one held-out
    aggregate (the cross-split) and whether each interval is clear of zero. Only counts are reported, so it
    may be run on held-out sets without spending them. ``after_verdicts``: as ``measure``'s ``verdicts``.
    """
    headlines = [f for f in files if not f.fulltext]
    everything = pooled(headlines)
    matched = scored_items(files)
    old = rule_verdicts(matched, before)
    new = after_verdicts if after_verdicts is not None else rule_verdicts(matched, after)
    both = [w for w in LABELS if w in next(iter(new.values()), {}) and w in next(iter(old.values()), {})]
    held_ids = {item.id for item in held_out(headlines, seen)}
    scopes: list[tuple[str, Sequence[Item]]] = [(f.name, f.items) for f in files]
    if held_ids:
        scopes.append((CROSS_SPLIT, [item for item in everything if item.id in held_ids]))
        scopes.append((DEV, [item for item in everything if item.id not in held_ids]))
    out: list[Change] = []
    for name, items in scopes:
        for watchlist in both:
            pairs = [(outcome(old[i.id][watchlist], i.labels[watchlist]),
                      outcome(new[i.id][watchlist], i.labels[watchlist])) for i in items]
            scores = [_counted([pair[side] for pair in pairs]) for side in (0, 1)]
            right = [(b in (TP, TN), a in (TP, TN)) for b, a in pairs]
            low, high = f1_change_interval(pairs)
            out.append(Change(name, watchlist, len(items), scores[0].f1, scores[1].f1, low, high,
                              sum(1 for b, a in right if a and not b), sum(1 for b, a in right if b and not a)))
    return out


def render_changes(changes: Sequence[Change], before: Path) -> str:
    """The changes as text: the cross-split and dev always, other sets only where a verdict changed."""
    out = [f"change from {before} (F1 before -> after, the change and its 95% paired bootstrap interval, "
           "items fixed / broken):"]
    for c in changes:
        if c.scope not in (CROSS_SPLIT, DEV) and not c.fixed + c.broken:
            continue
        sure = "" if c.low <= 0 <= c.high else ("  better" if c.low > 0 else "  worse")
        # The change to four places: on the cross-split one item is about 0.0002, and a change called better
        # must not print as "+0.000".
        out.append(f"  {c.watchlist:18} {c.scope:16} {c.items:5}  {c.before:.3f} -> {c.after:.3f}  "
                   f"{c.after - c.before:+.4f} [{c.low:+.4f}, {c.high:+.4f}]  fixed {c.fixed:3} broken {c.broken:3}"
                   f"{sure}")
    return "\n".join(out)


def check(scopes: Sequence[Scope], by_scope: Mapping[str, Mapping[str, Mapping[str, float]]],
          require_all: bool) -> tuple[list[str], list[str]]:
    """Figures below their floors, and floors whose scope was not measured.

    Args:
        scopes: the figures of the run.
        by_scope: floors by scope, watchlist and metric (see `floors`).
        require_all: a floor whose scope was not measured counts as a failure (the default run).

    Returns:
        (failures, notes): one line per figure below its floor (or unmeasured, with `require_all`), and one
        line per floor skipped because its scope is not in this run.
    """
    measured = {scope.name: scope for scope in scopes}
    failed: list[str] = []
    notes: list[str] = []
    for name, watchlists in by_scope.items():
        scope = measured.get(name)
        if scope is None:
            (failed if require_all else notes).append(f"{name}: not measured in this run")
            continue
        for watchlist, metrics in watchlists.items():
            got = scope.rules.get(watchlist)
            for metric, floor in metrics.items():
                if got is None:
                    failed.append(f"{name} {watchlist}: not scored (is the watchlist in the config?)")
                    break
                if getattr(got, metric) < floor:
                    failed.append(f"{name} {watchlist} {metric} {getattr(got, metric):.3f} < floor {floor}")
    return failed, notes


def f1_interval(s: Score, items: int, rounds: int = INTERVAL_ROUNDS, seed: int = INTERVAL_SEED) -> tuple[float, float]:
    """A 95% interval of ``s``'s F1 over ``items`` labelled items: what another sample drawn the same way might give.

    Why: the sets are small where it matters (rss2024 has 34 arms deals among 1,666 headlines, the
    full-text pages one), and one story more or less moves such a figure by a point or more, so a figure
    without its spread invites reading noise as progress or loss. The bootstrap resamples the items with
    replacement; an item's part in F1 is only whether it is a true positive, a false positive, a false
    negative or neither, so a resampled set is a multinomial draw of those four counts, and F1 is
    ``2 TP / (2 TP + FP + FN)`` (0 where nothing is flagged or labelled). The interval is the 2.5th and
    97.5th percentiles of ``rounds`` draws.

    What it leaves out, so it is narrower than the truth: label noise (two annotators' κ below 1), and that
    items come in clusters (one outlet's section, one week's story told by ten outlets), which a
    resampling of single items treats as independent.
    """
    tn = items - s.tp - s.fp - s.fn
    if items <= 0 or tn < 0:
        raise ValueError(f"{items} items cannot hold {s.tp} TP, {s.fp} FP and {s.fn} FN")
    counts = np.array([s.tp, s.fp, s.fn, tn], dtype=float)
    draws = np.random.default_rng(seed).multinomial(items, counts / items, size=rounds)
    low, high = np.percentile(_f1s(draws[:, 0], draws[:, 1], draws[:, 2]), [2.5, 97.5])
    return float(low), float(high)


def _interval(s: Score, items: int) -> str:
    if not s.tp + s.fp + s.fn:
        return f"{'':13}"
    low, high = f1_interval(s, items)
    return f"[{low:.3f}, {high:.3f}]"


def _figure(value: float, defined: bool) -> str:
    return f"{value:6.3f}" if defined else f"{'-':>6}"


def _rows(scope: Scope, first_column: str) -> list[str]:
    lines = []
    for name, ours in scope.rules.items():
        for method, s in (("rules", ours), ("keywords", scope.keywords[name])):
            lines.append(
                f"  {first_column:26} {name:18} {method:8} {_figure(s.precision, bool(s.tp + s.fp))} "
                f"{_figure(s.recall, bool(s.tp + s.fn))} {_figure(s.f1, bool(s.tp + s.fp + s.fn))}  "
                f"{s.tp:4} {s.fp:4} {s.fn:4}"
            )
            first_column = ""
    return lines


def render(scopes: Sequence[Scope], files: Sequence[LabelFile], seen: Collection[str]) -> str:
    """The figures as text: a table per file, pooled and cross-split, each with its families."""
    header = (f"  {'items':26} {'watchlist':18} {'method':8} {'P':>6} {'R':>6} {'F1':>6}  "
              f"{'TP':>4} {'FP':>4} {'FN':>4}")
    out: list[str] = []
    heads = {file.name: f"{file.name}: {len(file.items)} {'pages' if file.fulltext else 'items'} of {file.path}"
             + (" (title, description as lead, extracted body)" if file.fulltext else "") + " — "
             + ("dev (seen while writing rules)" if file.name in seen else "held out") for file in files}
    headlines = [f for f in files if not f.fulltext]
    heads[POOLED] = f"pooled: every labelled headline once, {len(headlines)} files"
    heads[CROSS_SPLIT] = ("cross-split: the rules, fixed, on the headlines not looked at while writing them "
                          f"(held out: {', '.join(f.name for f in headlines if f.name not in seen)}; "
                          f"seen: {', '.join(sorted(seen))})")
    seen_files = [f.name for f in headlines if f.name in seen]
    for scope in scopes:
        top, _, family = scope.name.partition(" / ")
        if top == DEV:
            if len(seen_files) > 1:
                out += ["", f"dev: every item of the seen files ({', '.join(seen_files)})", header]
                out += _rows(scope, f"all ({scope.items})")
            continue
        if not family:
            out += ["", heads[top], header]
        out += _rows(scope, f"{family or 'all'} ({scope.items})")
    found = {s.name: s for s in scopes}
    if CROSS_SPLIT not in found:
        out += summary(scopes, files)
        out += ["", "cross-split: nothing is held out (every label file is in seen_while_writing_rules of "
                "bench/baseline.json); label a new set to measure it"]
        return "\n".join(out)
    out += summary(scopes, files)
    held, dev = found[CROSS_SPLIT], found.get(DEV)
    out += ["", f"cross-split figure (rules fixed; {held.items} held-out items vs {dev.items if dev else 0} "
            "dev items):"]
    for name, s in held.rules.items():
        before = f"dev F1 {dev.rules[name].f1:.3f} -> " if dev and dev.items else ""
        out.append(f"  {name:18} P {s.precision:.3f}  R {s.recall:.3f}  F1 {s.f1:.3f} {_interval(s, held.items)}  "
                   f"({before}held-out F1 {s.f1:.3f}; keywords held-out F1 {held.keywords[name].f1:.3f})")
    return "\n".join(out)


def summary(scopes: Sequence[Scope], files: Sequence[LabelFile]) -> list[str]:
    """Per watchlist, one line per label file, full-text set and the cross-split: rules beside keywords."""
    found = {s.name: s for s in scopes}
    names = [f.name for f in files if f.name in found] + [CROSS_SPLIT] * (CROSS_SPLIT in found)
    watchlists = next(iter(found.values())).rules.keys() if found else ()
    out = ["", "summary (P / R / F1 and the rules' F1 95% bootstrap interval, see f1_interval; rules beside "
           "the keyword query):"]
    for watchlist in watchlists:
        for name in names:
            scope = found[name]
            ours, theirs = scope.rules[watchlist], scope.keywords[watchlist]
            out.append(f"  {watchlist:18} {name:12} {scope.items:5}  rules {_triple(ours)} "
                       f"{_interval(ours, scope.items)}   keywords {_triple(theirs)}")
    return out


def _triple(s: Score) -> str:
    return (f"{_figure(s.precision, bool(s.tp + s.fp))} {_figure(s.recall, bool(s.tp + s.fn))} "
            f"{_figure(s.f1, bool(s.tp + s.fp + s.fn))}")


def render_errors(scopes: Sequence[Scope], names: Collection[str], held_out_too: bool = False) -> str:
    """The false positives and negatives (id and title) of the rules on the named files.

    Args:
        scopes: the figures of the run.
        names: the files whose errors to list.
        held_out_too: list them even for a scope made of held-out items (spends the held-out set).
    """
    out: list[str] = []
    for scope in scopes:
        if scope.name not in names or (scope.held_out and not held_out_too):
            continue
        for watchlist, s in scope.rules.items():
            for kind, items in (("false positives", s.false_pos), ("false negatives", s.false_neg)):
                out.append(f"\n{scope.name} {watchlist}: {kind} ({len(items)})")
                out += [f"  {it.id}  {it.title[:100]}" for it in items]
    return "\n".join(out)


LOCAL_TEXTS = ROOT / "tests" / "data" / "local_headlines.jsonl"  # written for newswatch, so kept in the repo
LOCAL_LABELS = LABEL_DIR / "local" / "local.jsonl"
LOCAL_SCOPE = "local"


def local_items(texts: Path = LOCAL_TEXTS, labels: Path = LOCAL_LABELS) -> list[tuple[str, Item]]:
    """The regional-language headlines as (language, item): 40 per language, held out (bench/labels/README.md)."""
    rows = {row["id"]: row for row in map(json.loads, texts.read_text(encoding="utf-8").splitlines()) if row}
    found = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        row = rows[label["id"]]
        found.append((row["lang"], Item(label["id"], row["title"], row["text"],
                                        {name: bool(label[key]) for name, key in LABELS.items()})))
    return found


def language_scopes(config: Path = ROOT / "config.yaml") -> list[Scope]:
    """P/R per language on the regional-language headlines (scope ``local``, then ``local / <lang>``)."""
    pairs = local_items()
    items = [item for _lang, item in pairs]
    rules, keywords = rule_verdicts(items, config), keyword_verdicts(items)
    scopes = [Scope(LOCAL_SCOPE, len(items), True, score_all(items, rules), score_all(items, keywords))]
    for lang in sorted({lang for lang, _item in pairs}):
        subset = [item for code, item in pairs if code == lang]
        scopes.append(Scope(f"{LOCAL_SCOPE} / {lang}", len(subset), True, score_all(subset, rules),
                            score_all(subset, keywords)))
    return scopes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, nargs="+", metavar="FILE",
                        help="label files to score (default: labels-dev and bench/labels/*.jsonl)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure is below its floor in "
                        "bench/baseline.json")
    parser.add_argument("--quiet", action="store_true", help="do not list false positives and negatives")
    parser.add_argument("--show-held-out-errors", action="store_true",
                        help="also list the false positives and negatives of held-out files. Using it SPENDS "
                        "the held-out set: once you have read them, those labels are seen, their figures stop "
                        "measuring how the rules do on unseen stories, and the file must be added to "
                        "seen_while_writing_rules (docs/evaluation.md)")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml",
                        help="the config whose watchlists are scored (default: config.yaml)")
    parser.add_argument("--fulltext", type=Path, metavar="FILE",
                        help="full-text page labels to score (default: bench/labels/fulltext/pages.jsonl when it "
                        "exists and --labels is not given)")
    parser.add_argument("--no-fulltext", action="store_true", help="do not score the full-text pages")
    parser.add_argument("--against", type=Path, metavar="BEFORE.yaml",
                        help="also print how F1 changed from this config's watchlists to --config's, per set, "
                        "with a paired bootstrap interval (counts only: safe on held-out sets)")
    args = parser.parse_args(argv)
    paths: list[Path] = args.labels or default_label_paths()
    pages: Path | None = args.fulltext
    if pages is None and args.labels is None and FULLTEXT.exists():
        pages = FULLTEXT
    if args.no_fulltext:
        pages = None
    missing = [p for p in [*paths, *([pages] if pages else [])] if not p.exists()]
    if missing or not NEWS.is_dir():
        print(f"label file or corpus not found: {', '.join(map(str, missing)) or NEWS} "
              "(clone ../shared beside the project, or pass --labels)", file=sys.stderr)
        return 2
    baseline = load_baseline()
    texts = load_texts()
    try:
        seen = seen_while_writing_rules(baseline)
        files = [read_label_file(path, texts) for path in paths]
        if pages is not None:
            files.append(read_fulltext_file(pages))
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise ValueError(f"two label files have the same name in {names}; rename one")
        # One matching pass with --config's watchlists serves both the figures and the change (--against).
        verdicts = rule_verdicts(scored_items(files), args.config)
        scopes = measure(files, seen, args.config, verdicts)
        changes = compare(files, seen, args.against, args.config, verdicts) if args.against else []
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(render(scopes, files, seen))
    if args.labels is None and LOCAL_LABELS.exists() and LOCAL_TEXTS.exists():
        languages = language_scopes(args.config)
        print(f"\nregional languages: {languages[0].items} headlines written for newswatch ({LOCAL_TEXTS.name}), "
              "held out; the keyword query is English")
        print(f"  {'items':<26} {'watchlist':<18} {'method':<9} {'P':>6} {'R':>6} {'F1':>6}")
        for scope in languages:
            print("\n".join(_rows(scope, f"{scope.name} ({scope.items})")))
        scopes = [*scopes, languages[0]]
    if args.against:
        print("\n" + render_changes(changes, args.against))
    if not args.quiet:
        shown = [f.name for f in files if f.name in seen or args.show_held_out_errors]
        if args.show_held_out_errors:
            print("\nWARNING: listing held-out errors; the held-out set is now spent (docs/evaluation.md)",
                  file=sys.stderr)
        print(render_errors(scopes, shown, args.show_held_out_errors))
        hidden = [f.name for f in files if f.name not in shown]
        if hidden:
            print(f"\nPer-item errors of held-out files ({', '.join(hidden)}) are not listed: only their "
                  "aggregate figures are. See docs/evaluation.md before using --show-held-out-errors.")
    if args.check:
        failed, notes = check(scopes, floors(baseline), require_all=args.labels is None and not args.no_fulltext)
        for line in notes:
            print(f"floor skipped: {line}", file=sys.stderr)
        for line in failed:
            print(f"BELOW FLOOR: {line}", file=sys.stderr)
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
