"""The watchlist lab's engine: what an edit of one watchlist would change on the stored articles.

`compare_versions()` runs the current and the edited version of a watchlist (both `WatchlistSpec`, parsed by
the config's own parser) over the stored articles of a window — plus every article of the stories an
analyst has judged for that watchlist, so the scores use all judgements — and reports:

- the stories the edit would newly flag and those it would stop flagging, each with the evidence of
  its best-scoring article under the version that flags it;
- precision and recall against the judgements (``alerts.feedback``), before and after the edit.

The unit is the story: a story is flagged when any of its articles matches. An article that belongs
to no story (no watchlist ever matched it) stands alone, as the new story it would start. Both
versions are run afresh, so the "before" side is today's rules, not whatever version wrote the
stored matches. Snoozes and mutes are ignored: they silence alerts, they do not change what matches.

`score()` is the same arithmetic for `newswatch eval` (``scheduler.cli_eval``), and
`alerts.suggest` builds on `compare_versions()`.

Reads the crawler's ``articles`` and the alerts' ``story_articles``, ``stories`` and ``judgements``
tables; writes nothing. Settings read: none (the specs, the gazetteer and the window are passed in).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from alerts.feedback import ensure_feedback_schema, judgements_for
from alerts.match.gazetteer import Gazetteer
from alerts.match.matcher import compile_matcher
from alerts.match.models import Document, Evidence, WatchlistMatch
from alerts.match.watchlist import WatchlistSpec
from crawler.errors import StoreError
from crawler.items import Article
from crawler.store import get_article, iter_articles_after
from crawler.timeutil import iso, now_utc

logger = logging.getLogger(__name__)

ItemKey = tuple[str, int]  # ("story", story id) or ("article", article id)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One version's verdict on an item: its best-scoring article and that article's evidence."""

    flagged: bool
    score: float
    article_id: int
    evidence: tuple[Evidence, ...] = ()
    rules: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """A story in the window (or a lone article, the story it would start)."""

    key: ItemKey
    title: str
    url: str
    outlets: tuple[str, ...]
    articles: tuple[int, ...]

    @property
    def story_id(self) -> int | None:
        """The stored story's id, or None for a lone article."""
        return self.key[1] if self.key[0] == "story" else None


@dataclass(frozen=True, slots=True)
class Change:
    """An item whose verdict the edit changes, with both verdicts and the analyst's label if any."""

    item: Item
    before: Verdict
    after: Verdict
    judged: bool | None  # True relevant, False not relevant, None not judged


@dataclass(frozen=True, slots=True)
class Scores:
    """Counts against the judgements, and precision/recall (None when undefined: nothing to divide by)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def judged(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One version of a watchlist run over a set of items."""

    items: tuple[Item, ...]
    verdicts: Mapping[ItemKey, Verdict]
    labels: Mapping[ItemKey, bool]  # item -> relevant
    scores: Scores


@dataclass(frozen=True, slots=True)
class LabReport:
    """What an edit would change: `compare_versions()`'s answer."""

    watchlist: str
    since: str | None  # ISO time the window starts at (None: every stored article)
    articles: int
    items: int
    flagged_before: int
    flagged_after: int
    newly_flagged: tuple[Change, ...]
    no_longer_flagged: tuple[Change, ...]
    before: Scores
    after: Scores
    judged_changes: int = field(default=0)  # changes on judged stories


@dataclass(frozen=True, slots=True)
class Corpus:
    """The articles a comparison runs over, grouped into items; load once, run many versions on it."""

    articles: Mapping[int, Article]
    items: tuple[Item, ...]
    since: str | None


def load_corpus(db: sqlite_utils.Database, since: datetime | None, story_ids: Iterable[int] = (),
                article_ids: Iterable[int] = (), *, window: bool = True) -> Corpus:
    """The articles fetched since `since` and every article of the stories `story_ids` and `article_ids`.

    Args:
        db: the store.
        since: start of the window, by when articles were fetched (what the daemon saw then); None
            for every stored article.
        story_ids: stories to include whatever their age (the judged ones).
        article_ids: articles to include whatever their age (labelled ones in no story).
        window: False loads only the stories and articles named (`since` is then ignored).

    Returns:
        The articles by id, grouped into items (stories, or lone articles), newest item first.
    """
    cutoff = iso(since) if since else None
    articles: dict[int, Article] = {}
    first = 0 if window else -1
    if cutoff and window:
        row = db.execute("SELECT min(id) FROM articles WHERE fetched_at >= ?", [cutoff]).fetchone()
        first = int(row[0]) - 1 if row and row[0] is not None else -1
    if first >= 0:
        for article in iter_articles_after(db, first):
            if not cutoff or not article.fetched_at or article.fetched_at >= cutoff:
                articles[article.id] = article
    wanted = sorted(set(story_ids))
    for chunk in _chunks(wanted, 500):
        marks = ",".join("?" * len(chunk))
        for (article_id,) in db.execute(
                f"SELECT article_id FROM story_articles WHERE story_id IN ({marks})", chunk).fetchall():
            if article_id not in articles:
                try:
                    articles[article_id] = get_article(db, article_id)
                except StoreError:
                    continue  # pruned
    story_of: dict[int, int] = {}
    for article_id in article_ids:
        if article_id not in articles:
            try:
                articles[article_id] = get_article(db, article_id)
            except StoreError:
                continue
    for chunk in _chunks(sorted(articles), 500):
        marks = ",".join("?" * len(chunk))
        story_of.update(db.execute(f"SELECT article_id, story_id FROM story_articles WHERE article_id IN ({marks})",
                                   chunk).fetchall())
    groups: dict[ItemKey, list[int]] = {}
    for article_id in sorted(articles):
        story = story_of.get(article_id)
        groups.setdefault(("story", story) if story is not None else ("article", article_id), []).append(article_id)
    items = []
    for key, ids in groups.items():
        first_article = articles[ids[0]]
        title, url = first_article.title, first_article.url
        if key[0] == "story":
            row = db.execute("SELECT title, url FROM stories WHERE id = ?", [key[1]]).fetchone()
            if row is not None:
                title, url = row[0] or title, row[1] or url
        outlets = tuple(dict.fromkeys(articles[i].source for i in ids if articles[i].source))
        items.append(Item(key, title or "", url or "", outlets, tuple(ids)))
    items.sort(key=lambda item: max(item.articles), reverse=True)
    return Corpus(articles, tuple(items), cutoff)


def _chunks(values: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


def document_of(article: Article) -> Document:
    """What the matcher reads of a stored article (as the pipeline builds it)."""
    return Document(title=article.title, lead=article.summary, body=article.text)


def run_version(corpus: Corpus, spec: WatchlistSpec, gazetteer: Gazetteer,
                labels: Mapping[ItemKey, bool]) -> Evaluation:
    """One version of a watchlist over the corpus: a verdict per item, and scores against `labels`.

    Raises:
        AlertsError: the watchlist does not compile against the gazetteer (an unknown @entity).
    """
    matcher = compile_matcher([spec], gazetteer)
    by_article: dict[int, WatchlistMatch] = {}
    for article_id, article in corpus.articles.items():
        by_article[article_id] = matcher.match(document_of(article))[0]
    verdicts: dict[ItemKey, Verdict] = {}
    for item in corpus.items:
        best_id = max(item.articles, key=lambda i: (by_article[i].matched, by_article[i].score, -i))
        best = by_article[best_id]
        verdicts[item.key] = Verdict(best.matched, best.score, best_id, best.evidence, best.rules, best.reason)
    return Evaluation(corpus.items, verdicts, labels, score(corpus.items, verdicts, labels))


def score(items: Iterable[Item], verdicts: Mapping[ItemKey, Verdict], labels: Mapping[ItemKey, bool]) -> Scores:
    """Count true/false positives and negatives over the judged items among `items`."""
    tp = fp = fn = tn = 0
    for item in items:
        if item.key not in labels:
            continue
        flagged, relevant = verdicts[item.key].flagged, labels[item.key]
        tp += flagged and relevant
        fp += flagged and not relevant
        fn += relevant and not flagged
        tn += not relevant and not flagged
    return Scores(tp, fp, fn, tn)


def story_labels(db: sqlite_utils.Database, watchlist: str) -> dict[ItemKey, bool]:
    """The analysts' judgements of one watchlist: ("story", id) -> relevant."""
    ensure_feedback_schema(db)
    return {("story", j.story_id): j.relevant for j in judgements_for(db, watchlist)}


def corpus_for(db: sqlite_utils.Database, labels: Mapping[ItemKey, bool], since: datetime | None, *,
               window: bool = True) -> Corpus:
    """The corpus of a window plus every labelled story and article."""
    return load_corpus(db, since, [k[1] for k in labels if k[0] == "story"],
                       [k[1] for k in labels if k[0] == "article"], window=window)


def diff(before: Evaluation, after: Evaluation, watchlist: str, corpus: Corpus) -> LabReport:
    """The report of what changes from `before` to `after` (both run over `corpus`)."""
    newly: list[Change] = []
    gone: list[Change] = []
    for item in corpus.items:
        b, a = before.verdicts[item.key], after.verdicts[item.key]
        if b.flagged == a.flagged:
            continue
        judged = after.labels.get(item.key)
        (newly if a.flagged else gone).append(Change(item, b, a, judged))
    return LabReport(
        watchlist=watchlist, since=corpus.since, articles=len(corpus.articles), items=len(corpus.items),
        flagged_before=sum(v.flagged for v in before.verdicts.values()),
        flagged_after=sum(v.flagged for v in after.verdicts.values()),
        newly_flagged=tuple(newly), no_longer_flagged=tuple(gone), before=before.scores, after=after.scores,
        judged_changes=sum(c.judged is not None for c in (*newly, *gone)))


def compare_versions(db: sqlite_utils.Database, current: WatchlistSpec, edited: WatchlistSpec, gazetteer: Gazetteer, *,
            days: float | None = 30, now: datetime | None = None,
            labels: Mapping[ItemKey, bool] | None = None) -> LabReport:
    """What replacing `current` by `edited` would change on the stored articles of the last `days` days.

    Args:
        db: the store.
        current: the watchlist as configured now.
        edited: the edited version (parsed by ``parse_watchlists``, like the config's).
        gazetteer: the gazetteer both compile against.
        days: the window, by fetch time; None for every stored article.
        now: the end of the window (tests drive the clock with it).
        labels: item -> relevant; default: the judgements stored for `current`'s name.

    Returns:
        The LabReport: stories newly flagged and no longer flagged with evidence, and scores.

    Raises:
        AlertsError: either version does not compile against the gazetteer.
    """
    if labels is None:
        labels = story_labels(db, current.name)
    since = (now or now_utc()) - timedelta(days=days) if days else None
    corpus = corpus_for(db, labels, since)
    before = run_version(corpus, current, gazetteer, labels)
    after = run_version(corpus, edited, gazetteer, labels)
    report = diff(before, after, current.name, corpus)
    logger.info("lab: %s over %d articles (%d items): %d newly flagged, %d no longer flagged", current.name,
                report.articles, report.items, len(report.newly_flagged), len(report.no_longer_flagged))
    return report
