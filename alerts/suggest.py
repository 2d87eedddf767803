"""Suggestions for a watchlist from its judged misses and false alarms, each tried before it is shown.

`suggest()` reads what the analysts' labels say the watchlist gets wrong, proposes edits, and runs
each proposal over the stored articles (``alerts.lab``) so that every suggestion comes with the
stories it would change — for a person to accept (or not) in the watchlist lab:

- **terms**: words and phrases (1–3 words) found in the judged-relevant stories the watchlist misses
  and in none of the judged-not-relevant ones. Applying one adds a rule ``suggested-<term>`` whose
  weight lets a single hit anywhere reach the threshold.
- **exclusions**: words and phrases of the sentences that set off false alarms (the evidence, and
  the title) found in no judged-relevant story. Applying one adds it to the watchlist's ``none:``
  list (a story containing it never matches).

Candidates are ranked by how many judged items they are in, then by whether they stand in a title
and look like a name (capitalised words: places, ships, forces), then tried one by one (at most
`MAX_TRIED` per kind); a suggestion is kept when it fixes more judged items than it breaks, and what
is kept is ordered by judged items fixed less broken, then by that rank. How many unjudged stories
each would change is shown beside it: that is the price a person weighs.

Settings read: none (the watchlist as written, its spec, the gazetteer and the labels are passed in).
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from alerts.lab import Corpus, Evaluation, ItemKey, LabReport, corpus_for, diff, run_version
from alerts.match.gazetteer import Gazetteer
from alerts.match.watchlist import WatchlistSpec, parse_watchlists

logger = logging.getLogger(__name__)

MAX_TRIED = 20  # candidates of each kind run over the store
BODY_CHARS = 3000  # of each article's text read for candidate words
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)
_STOP_WORDS = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers him his how i if in into is it its just may me might more most must my no nor not now of
off on once only or other our ours out over own said same says she should so some such than that the their
them then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours one two three new also last first year years week told
monday tuesday wednesday thursday friday saturday sunday according news report reported reports
"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One proposed edit, what it adds to the watchlist, why, and what it would change."""

    kind: Literal["term", "exclusion"]
    text: str
    change: Mapping[str, Any]  # what to add to the watchlist as written: {"rules": [...]} or {"none": [...]}
    why: str
    report: LabReport
    fixed: int  # judged items it gets right that the watchlist gets wrong now
    broken: int  # judged items it gets wrong that the watchlist gets right now

    @property
    def unjudged(self) -> int:
        """Stories without a label whose verdict it changes."""
        return sum(c.judged is None for c in (*self.report.newly_flagged, *self.report.no_longer_flagged))


def _phrases(text: str, longest: int = 3) -> dict[str, str]:
    """Word n-grams of `text` that neither start nor end with a stop word: folded -> as first written."""
    words = _WORD.findall(text)
    found: dict[str, str] = {}
    for size in range(1, longest + 1):
        for start in range(len(words) - size + 1):
            gram = words[start:start + size]
            first, last = gram[0].casefold(), gram[-1].casefold()
            if first in _STOP or last in _STOP or any(w.isdigit() for w in gram) or len("".join(gram)) < 4:
                continue
            found.setdefault(" ".join(w.casefold() for w in gram), " ".join(gram))
    return found


def _text_of(corpus: Corpus, key: ItemKey, ids: Iterable[int]) -> str:
    parts = []
    for article_id in ids:
        article = corpus.articles[article_id]
        parts += [article.title, article.summary, article.text[:BODY_CHARS]]
    return "\n".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "term"


def _apply(raw: Mapping[str, Any], kind: str, text: str, spec: WatchlistSpec) -> dict[str, Any]:
    edited = copy.deepcopy(dict(raw))
    if kind == "term":
        # One hit in the field of least weight must reach the threshold on its own.
        weight = round(spec.threshold / max(min(spec.field_weights), 1e-9), 3)
        rule = {"name": f"suggested-{_slug(text)}", "weight": weight, "any": [text]}
        edited["rules"] = [*edited.get("rules", []), rule]
    else:
        edited["none"] = [*edited.get("none", []), text]
    return edited


def _added(edited: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {"rules": [edited["rules"][-1]]} if kind == "term" else {"none": [edited["none"][-1]]}


def suggest(db: sqlite_utils.Database, spec: WatchlistSpec, raw: Mapping[str, Any], gazetteer: Gazetteer,
            labels: Mapping[ItemKey, bool], *, since: datetime | None, limit: int = 5) -> list[Suggestion]:
    """Propose terms and exclusions for one watchlist, each with the stories it would change.

    Args:
        db: the store.
        spec: the watchlist as configured.
        raw: the same watchlist as written in config.yaml (a mapping), which suggestions extend.
        gazetteer: the gazetteer the watchlist compiles against.
        labels: item -> relevant (the analysts' judgements, or a labels file).
        since: the window whose stories a suggestion is tried on (None: every stored article).
        limit: suggestions of each kind at most.

    Returns:
        Term suggestions, then exclusion suggestions, best first.
    """
    corpus = corpus_for(db, labels, since)
    before = run_version(corpus, spec, gazetteer, labels)
    misses = [i for i in corpus.items if labels.get(i.key) is True and not before.verdicts[i.key].flagged]
    alarms = [i for i in corpus.items if labels.get(i.key) is False and before.verdicts[i.key].flagged]
    relevant = [i for i in corpus.items if labels.get(i.key) is True]
    irrelevant = [i for i in corpus.items if labels.get(i.key) is False]

    def folded(items: Sequence[Any], evidence_only: bool = False) -> list[dict[str, str]]:
        out = []
        for item in items:
            if evidence_only:
                verdict = before.verdicts[item.key]
                sentences = [item.title, *(e.sentence for e in verdict.evidence)]
                out.append(_phrases("\n".join(sentences), 2))
            else:
                out.append(_phrases(_text_of(corpus, item.key, item.articles)))
        return out

    found: list[Suggestion] = []
    kinds: tuple[tuple[Literal["term", "exclusion"], list[Any], list[Any], bool, str, str], ...] = (
        ("term", misses, irrelevant, False, "misses", "judged not relevant"),
        ("exclusion", alarms, relevant, True, "false alarms", "judged relevant"))
    for kind, wrong, right, evidence_only, what, other in kinds:
        if not wrong:
            continue
        spelled = folded(wrong, evidence_only)
        banned: set[str] = set().union(*folded(right)) if right else set()
        titles = " \n ".join(i.title for i in wrong).casefold()
        if evidence_only:  # a phrase cutting through a hit term ("guard rescues" of "coast guard") is noise
            banned |= {g for grams in spelled for g in grams if _cuts(g, wrong, before)}
        counts = Counter(g for grams in spelled for g in grams if g not in banned)
        rank = {g: counts[g] * 10 + 2 * (g in titles) + _looks_like_a_name(next(s[g] for s in spelled if g in s))
                + 0.5 * (g.count(" ") == 1) for g in counts}
        found += _try(kind, rank, counts, spelled, spec, raw, gazetteer, corpus, before, labels, len(wrong),
                      what, other, limit)
    return found


def _cuts(gram: str, items: Sequence[Any], before: Evaluation) -> bool:
    """Whether `gram` shares words with an evidence term of `items` without holding the whole term."""
    words = gram.split()
    for item in items:
        for ev in before.verdicts[item.key].evidence:
            term = ev.term.casefold().split()
            if set(term) & set(words) and " ".join(term) not in gram:
                return True
    return False


def _looks_like_a_name(text: str) -> int:
    return int(all(w[:1].isupper() for w in text.split()))


def _try(kind: Literal["term", "exclusion"], rank: Mapping[str, float], counts: Counter[str],
         spelled: list[dict[str, str]],
         spec: WatchlistSpec, raw: Mapping[str, Any], gazetteer: Gazetteer, corpus: Corpus, before: Evaluation,
         labels: Mapping[ItemKey, bool], total: int, what: str, other: str, limit: int) -> list[Suggestion]:
    ranked = sorted(rank, key=lambda g: (-rank[g], g))[:MAX_TRIED]
    kept: list[tuple[float, Suggestion]] = []
    for gram in ranked:
        text = next(s[gram] for s in spelled if gram in s)
        edited = _apply(raw, kind, text, spec)
        try:
            new_spec = parse_watchlists([edited])[0]
            after = run_version(corpus, new_spec, gazetteer, labels)
        except Exception as exc:  # a candidate the watchlist language refuses is no suggestion
            logger.debug("suggest: %s %r skipped: %s", kind, text, exc)
            continue
        report = diff(before, after, spec.name, corpus)
        changes = (*report.newly_flagged, *report.no_longer_flagged)
        fixed = sum(1 for c in changes if c.judged is not None and c.after.flagged == c.judged)
        broken = sum(1 for c in changes if c.judged is not None and c.after.flagged != c.judged)
        if fixed <= broken:
            continue
        why = f"in {counts[gram]} of {total} judged {what}, in none {other}"
        kept.append((rank[gram], Suggestion(kind, text, _added(edited, kind), why, report, fixed, broken)))
    kept.sort(key=lambda pair: (-(pair[1].fixed - pair[1].broken), -pair[0]))
    return [suggestion for _, suggestion in kept[:limit]]
