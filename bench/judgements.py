"""The analysts' judgements of a newswatch store as labelled headlines, for bench/eval_reranker.py.

The workbench stores one label per (story, watchlist) in the ``judgements`` table (``alerts.feedback``).
This module turns each judged story of a watchlist that has labelled data (``LABELS`` of
bench/eval_watchlists.py) into an ``Item`` of the same shape as a labelled headline: the title and lead
(feed summary) of the story's first article — the article whose title the story carries — as the
matcher reads them (``alerts.lab.document_of``, what `newswatch eval` matches; the body is left out
because the labelled headlines have none, and a model trained on bodies would meet none when tested).

An item carries a label only for the watchlists it was judged for: a story judged for maritime-disputes
says nothing about arms-deals, so its ``labels`` has no arms-deals key and it joins only the
maritime-disputes training set. Nothing is read twice: the judgements and the stories' texts come
through the readers `newswatch eval` uses (``alerts.lab.story_labels`` and ``corpus_for``,
``alerts.feedback.judgements_for``); no SQL here.

`drop_held_out_copies` removes judged items whose title and teaser are those of a held-out item, so
that a held-out headline the crawler happened to store, and an analyst judged, cannot be trained on.

Settings read: none (the database paths and the watchlist names are passed in).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.feedback import judgements_for  # noqa: E402
from alerts.lab import corpus_for, document_of, story_labels  # noqa: E402
from bench.eval_watchlists import Item  # noqa: E402
from scheduler.schema import open_store  # noqa: E402


@dataclass(frozen=True, slots=True)
class JudgedStore:
    """The judged stories of one store as items, and the judgements that could not be used."""

    path: Path
    items: tuple[Item, ...] = field(repr=False)
    missing: int  # judgements of stories none of whose articles is stored any more (pruned)
    other_watchlists: dict[str, int]  # judgements of watchlists without labelled data, by watchlist


def read_judged(path: Path, watchlists: Collection[str], tag: str) -> JudgedStore:
    """The judged stories of a newswatch store, one item each, labelled for the watchlists judged.

    The store is opened as `newswatch eval` opens it (``scheduler.schema.open_store``, which brings
    an older file up to date as any newswatch command would) and is otherwise only read.

    Args:
        path: the SQLite file (``database`` of the config).
        watchlists: the watchlists whose judgements are wanted (those with labelled data).
        tag: what makes the item ids unique across stores (ids are ``judged-TAG-story-ID``).

    Returns:
        The items in story order, each labelled for the watchlists its story was judged for.

    Raises:
        FileNotFoundError: there is no file at `path` (opening would create an empty store).
        StoreError: the file is not a newswatch store this code can read.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no newswatch database at {path}; pass the file named by `database:` in the config")
    db = open_store(path)
    try:
        texts: dict[int, tuple[str, str]] = {}
        labels: dict[int, dict[str, bool]] = {}
        missing = 0
        for name in watchlists:
            found, gone = _stories_judged_for(db, name)
            missing += gone
            for story_id, (title, lead, relevant) in found.items():
                texts[story_id] = (title, lead)
                labels.setdefault(story_id, {})[name] = relevant
        others = Counter(j.watchlist for j in judgements_for(db) if j.watchlist not in watchlists)
    finally:
        db.close()
    items = tuple(Item(f"judged-{tag}-story-{sid}", *texts[sid], labels[sid]) for sid in sorted(texts))
    return JudgedStore(path, items, missing, dict(sorted(others.items())))


def _stories_judged_for(db: sqlite_utils.Database, watchlist: str) -> tuple[dict[int, tuple[str, str, bool]], int]:
    """Title, lead and label of each judged story of `watchlist` still stored; how many judged ones are not."""
    wanted = story_labels(db, watchlist)
    corpus = corpus_for(db, wanted, None, window=False)
    found: dict[int, tuple[str, str, bool]] = {}
    for story in corpus.items:
        if story.story_id is not None and story.key in wanted:
            document = document_of(corpus.articles[story.articles[0]])  # the article the story is named after
            found[story.story_id] = (document.title, document.lead, wanted[story.key])
    return found, len(wanted) - len(found)


def _text_key(item: Item) -> tuple[str, str]:
    """Title and teaser with case and runs of white space ignored (a feed may re-space or re-case a headline)."""
    return " ".join(item.title.split()).casefold(), " ".join(item.text.split()).casefold()


def drop_held_out_copies(judged: Iterable[Item], held: Sequence[Item]) -> tuple[list[Item], list[Item]]:
    """Split judged items into those that may be trained on and those that copy a held-out item.

    A judged story whose title and teaser are a held-out item's (case and spacing aside) would let the
    model learn a held-out label, and the held-out figure would no longer be honest.

    Returns:
        The items kept and the items dropped, each in the order given.
    """
    held_keys = {_text_key(item) for item in held}
    kept: list[Item] = []
    dropped: list[Item] = []
    for item in judged:
        (dropped if _text_key(item) in held_keys else kept).append(item)
    return kept, dropped
