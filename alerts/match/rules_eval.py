"""Evaluate compiled watchlist rules on the hits of one document: groups, proximity, exclusions, evidence.

``alerts.match.matcher`` compiles watchlists into the trees defined here (``_Leaf``, ``_Bag``, ``_Node``,
``_Exclusion``) and finds the hits; this module decides which rules the hits satisfy. A rule result is
the list of ``(hit, leaf)`` pairs that satisfy it, in a fixed order (evidence and veto descriptions
depend on it), or ``None``.

Speed: the work per document follows its hits, not the size of the watchlists. Concept lists make bags
(``any`` groups of terms, shared between rules and evaluated once per document and watchlist) of
hundreds of terms, of which a document holds a few, so one pass over the document's hit pattern ids
gives each bag its terms present and each exclusion its targets and context present (``_Live``,
``apply_exclusions``); a rule or subtree without a hit below it is skipped unwalked. Word and sentence
positions are computed once per hit, only for the hits a proximity check, an exclusion or evidence needs
(a hit outside the anchors' fields or span of sentences is skipped), and proximity checks compare plain
integers. A field's sentence starts are found all at once (``str.find`` searches for its stops and line
breaks) the first time one of its hits needs its sentence (see ``sentence_starts``); a sentence's identity
is where it starts, and a hit's sentence is a bisection over the starts. A word index counts separators
from the start of its block of the field, whose own count is kept (see ``_WORD_BLOCK``).

Settings read: none.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from alerts.match.models import Evidence
from alerts.match.normalize import NormalizedText, is_word_char
from alerts.match.watchlist import FIELDS

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_MAX_SENTENCE = 300
_MAX_EVIDENCE_PER_RULE = 6


class _Hit:
    __slots__ = ("end", "field", "pid", "sentence", "start", "word")

    def __init__(self, pid: int, field: int, start: int, end: int) -> None:
        self.pid = pid
        self.field = field
        self.start = start
        self.end = end
        self.word = -1  # word index in the field, computed when a NEAR rule needs it
        self.sentence = -1  # sentence index in the field, computed when needed


@dataclass(frozen=True, slots=True)
class _Leaf:
    pids: tuple[int, ...]
    weight: float
    label: str | None  # None: show the pattern (the alias) itself
    entity: str | None
    nid: int = field(default=-1, compare=False)  # node id: see ``_Live``


@dataclass(frozen=True, slots=True, eq=False)
class _Bag:
    """An ``any`` of plain terms, flattened: pattern id -> the leaves that use it.

    Equal bags are compiled into one object, so a document evaluates each only once per watchlist.
    """

    leaves: dict[int, tuple[_Leaf, ...]]
    slot: int  # this bag's place among the matcher's bags and tallies: see ``_Live``
    rank: dict[int, int]  # pattern id -> its place in ``leaves``: puts a document's hits in the bag's order


@dataclass(frozen=True, slots=True, eq=False)
class _Tally:
    """An ``any`` with ``min`` above 1 whose items are all terms or entities: a bag that counts.

    "Two different states in the story" is ``any`` over a hundred entities with ``min: 2``: walking the
    hundred leaves (and their aliases) for every document costs more than the rest of the rule. Like a
    bag, the pattern ids index the leaves, so one pass over the document's hits (``_Live``) gives the
    tally its terms present. ``places``: pattern id -> ``(item, alias)`` positions of each leaf holding
    it, which order the pairs as the plain ``any`` gives them (item by item, alias by alias) and count
    the different items found.
    """

    places: dict[int, tuple[tuple[int, int, _Leaf], ...]]
    min: int
    slot: int  # as a bag's


@dataclass(frozen=True, slots=True)
class _Node:
    op: str
    children: tuple[_Leaf | _Bag | _Tally | _Node, ...]
    near: int | str | None
    min: int
    nid: int  # node id: see ``_Live``
    required: tuple[_Leaf | _Bag | _Tally | _Node, ...]  # for ``all``: the non-``none`` children, which must be live


@dataclass(frozen=True, slots=True)
class _Exclusion:
    targets: frozenset[int]
    context: tuple[int, ...]
    near: int | str | None


# Tables indexed by pattern id, None for a pattern without a role there: a document's hit pattern ids are
# looked up in them for every watchlist, and a list index costs less than a dictionary lookup (no hash, one
# memory access, which matters once the tables outgrow the cache: thousands of patterns). Sized to every
# pattern of the matcher (``compile_matcher`` pads those built before the last pattern was added).
# Pattern id -> (the exclusions it is a target of, those it is context of), by index.
ExclusionIndex = list[tuple[tuple[int, ...], tuple[int, ...]] | None]
# Pattern id -> slots of the bags and tallies holding it (what ``_Live`` reads).
BagIndex = list[tuple[int, ...] | None]
# Exclusion target pattern id -> the pattern ids whose hits can lie within the words it finds (itself
# included); built with the matcher (``alerts.match.matcher``), read by ``_drop_within``.
WithinMap = dict[int, tuple[int, ...]]
_Found = list[tuple[_Hit, _Leaf]]
_Memo = dict[int, "_Found | None"]


class _Live:
    """Which nodes of one watchlist have a hit below them, for one document's hits (after exclusions).

    Bags and tallies are numbered apart from other nodes (``slot``), so their terms present sit in a
    list: a document's hits touch several bags each.

    A node without a hit below it cannot hold (unless it is in ``always``: an ``all`` of ``none``
    groups), nor can an ``all`` one of whose required items cannot, so evaluation skips it unwalked.
    Worked out from the document's hits, not from the nodes' pattern ids: concept lists make bags of
    hundreds of terms, of which a document holds a few. One pass over the hit pattern ids gives each bag
    its terms present (``common``, in hits order); other nodes are asked when evaluation reaches them,
    and the answer is kept.
    """

    __slots__ = ("always", "any_always", "common", "hits", "known")

    def __init__(self, hits: dict[int, list[_Hit]], always: frozenset[int], common: list[list[int] | None]) -> None:
        self.hits = hits
        self.always = always  # ids of the nodes that may hold without hits
        # Whether there are any: none in today's watchlists, and asking an empty set costs a boxed integer
        # and a hash lookup per node reached (0.6% of ``Matcher.match``'s instructions on dense articles).
        self.any_always = bool(always)
        self.known: dict[int, bool] = {}  # node id -> whether a hit lies below it
        # Bag (or tally) slot -> its pattern ids with hits, in hits order; None without (made by
        # ``exclude_and_index`` in its pass over the hits). A list, not a dict: slots are small consecutive
        # numbers, and an index costs less than a hash lookup.
        self.common = common

    def holds(self, node: _Leaf | _Bag | _Tally | _Node) -> bool:
        """Whether ``node`` may hold: a hit lies below it, or it may hold without one."""
        if type(node) is _Bag or type(node) is _Tally:
            return self.common[node.slot] is not None
        if self.any_always and type(node) is _Node and node.nid in self.always:
            return True
        return self._below(node)

    def _below(self, node: _Leaf | _Bag | _Tally | _Node) -> bool:
        if type(node) is _Bag or type(node) is _Tally:
            return self.common[node.slot] is not None
        if type(node) is _Leaf:
            hits = self.hits
            return any(pid in hits for pid in node.pids)
        assert isinstance(node, _Node)
        got = self.known.get(node.nid)
        if got is None:
            if node.required:
                # An ``all`` holds only when each of its required items may: asking that here, item by item
                # until one may not, spares walking into the other items (an ``other-than-maker`` rule's
                # branches all share the frequent states, and only the branch whose systems are found lives).
                got = all(self.holds(child) for child in node.required)
            else:
                got = any(self._below(child) for child in node.children)
            self.known[node.nid] = got
        return got


def bag_index(roots: Sequence[_Leaf | _Bag | _Tally | _Node], size: int) -> BagIndex:
    """Pattern id (below ``size``) -> slots of the bags and tallies below ``roots`` that hold it, or None."""
    out: dict[int, list[int]] = {}
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, _Node):
            stack.extend(node.children)
        elif isinstance(node, _Bag) and node.slot not in seen:
            seen.add(node.slot)
            for pid in node.leaves:
                out.setdefault(pid, []).append(node.slot)
        elif isinstance(node, _Tally) and node.slot not in seen:
            seen.add(node.slot)
            for pid in node.places:
                out.setdefault(pid, []).append(node.slot)
    table: BagIndex = [None] * size
    for pid, nids in out.items():
        table[pid] = tuple(sorted(nids))
    return table


def may_hold_empty(node: _Leaf | _Bag | _Tally | _Node) -> bool:
    """Whether ``node`` could hold with no hit below it (an ``all`` of ``none`` groups only)."""
    return isinstance(node, _Node) and node.op == "all" and not node.required


# Sentence boundaries. A sentence starts at 0, after 。！？ or a line break, or after the space that follows a
# run of closing marks (.!?"')]) holding a . ! or ? that does not end an initial or an abbreviation (a
# capital with no letter before it: "U.S.", "J. Smith"). A field's starts are found all at once, the first
# time one of its hits needs its sentence: an Aho-Corasick automaton (the Rust crate, as for the terms)
# finds every candidate (a hard end, or a space right after a closing mark) and ``_soft_end`` keeps the
# spaces that end a sentence. Each hit's sentence is then a bisection over the starts.
#
# Before, each hit's sentence was found by searching back from it with a regular expression, and each
# sentence's end by searching forward: no scan of the whole field, but ``re`` costs tens of instructions a
# character, and the searches of a dense article added up to about a sixth of ``Matcher.match``'s
# instructions. The automaton scans a 5 KB body in about 15 us, so scanning the whole field once is cheaper
# than searching around each hit: 6.3% fewer instructions on dense articles, and as many as before on the
# real pages (long, with few hits). The starts are the same as the searches found (the 2,100 fields of 300
# dense articles and 400 real pages compared; every result on the labelled items hashes the same; a test
# checks each rule on hand-made cases).
#
# Now the candidates are found with ``str.find``, which runs in C without the Python tuple per candidate
# that the automaton's answer cost (most of its 105,000 instructions a field): each stop's kind (. ! ?) is
# searched for and followed over its run of closing marks to the space after it, where ``_soft_end``
# decides as before (the rule read forwards: the run holds a stop that is not an initial's), and the line
# breaks (and 。！？ in non-ASCII fields) are searched for; the sorted lists are merged, each start once.
# Measured with callgrind on 150 dense articles (``Matcher.match`` of the compiled build, hash seed 0):
# ``sentence_starts`` from 35.3 million instructions to 16.6 million. Tried and dropped: one ``str.find``
# loop per mark with ``sorted(set(...))`` of the ends (17.6 million, the set and the sort a third of it),
# and one loop taking the earliest of every mark's next place (23.1 million: a boxed integer and a list
# store per step). The starts are the automaton's on every field of 400 dense articles and the real pages
# and on 200,000 random strings of marks, quotes, capitals, spaces and line breaks; every result on the
# vdump corpus hashes the same.
_CLOSING: Final = frozenset(".!?\"')]")
_STOPS: Final = frozenset(".!?")
_HARD_ENDS: Final = ("\n",)
_CJK_HARD_ENDS: Final = ("\n", "。", "！", "？")  # in non-ASCII fields


def _soft_end(text: str, space: int) -> bool:
    """Whether the space at ``space`` (after a closing mark) ends a sentence."""
    i = space - 1
    while i >= 0 and text[i] in _CLOSING:
        if text[i] in _STOPS and not (
            i >= 1 and text[i - 1].isupper() and (i < 2 or not text[i - 2].isalpha())
        ):
            return True
        i -= 1
    return False


def _stop_ends(text: str, stop: str) -> list[int]:
    """Where sentences start after the soft ends reached from each ``stop`` in ``text``, in order."""
    size = len(text)
    out: list[int] = []
    i = text.find(stop)
    while i >= 0:
        k = i + 1
        while k < size and text[k] in _CLOSING:
            k += 1
        if k < size and text[k] == " " and _soft_end(text, k):
            out.append(k + 1)
        # ``_soft_end`` looked at every stop of this run (all end at the same space): on past the run.
        i = text.find(stop, k)
    return out


def _merge(a: list[int], b: list[int]) -> list[int]:
    """Two sorted lists of starts as one, each start once."""
    if not b:
        return a
    out: list[int] = []
    i = 0
    j = 0
    na = len(a)
    nb = len(b)
    while i < na and j < nb:
        x = a[i]
        y = b[j]
        if x < y:
            out.append(x)
            i += 1
        elif y < x:
            out.append(y)
            j += 1
        else:
            out.append(x)
            i += 1
            j += 1
    while i < na:
        out.append(a[i])
        i += 1
    while j < nb:
        out.append(b[j])
        j += 1
    return out


def sentence_starts(text: str) -> list[int]:
    """Where each sentence of ``text`` starts, in order: 0 first (see the rules above)."""
    starts = [0]
    starts.extend(_stop_ends(text, "."))
    starts = _merge(starts, _stop_ends(text, "!"))
    starts = _merge(starts, _stop_ends(text, "?"))
    for end in _HARD_ENDS if text.isascii() else _CJK_HARD_ENDS:
        found: list[int] = []
        i = text.find(end)
        while i >= 0:
            found.append(i + 1)
            i = text.find(end, i + 1)
        starts = _merge(starts, found)
    return starts


def _sentence_index(starts: list[int], pos: int) -> int:
    """``bisect_right(starts, pos)``: a native loop over native integers, not a generic call per hit.

    ``_Doc.sentence`` itself (without finding the starts) went from 12.7 million instructions to 4.7
    million on 150 dense articles with it.
    """
    lo = 0
    hi = len(starts)
    while lo < hi:
        mid = (lo + hi) >> 1
        if pos < starts[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


# A word index is the number of separators before a position: the count kept for the start of its block
# of characters plus the separators from there. Before, each index was counted from the nearest position
# already counted, a bisection and two list insertions away, and hits come in any order, so a count ran
# over about a thousand characters (a dense article's word indices cost 7% of ``Matcher.match``'s
# instructions, a third of that now).
_WORD_BLOCK: Final = 256


class _Doc:
    """One document being matched: normalised fields and lazily computed word and sentence positions."""

    def __init__(self, texts: Sequence[NormalizedText]) -> None:
        self.texts = texts
        self._tokens: dict[int, list[int] | None] = {}
        # Space-separated fields: the separators before each block of ``_WORD_BLOCK`` characters, and
        # the field with line breaks made spaces (see ``_count_separators``).
        self._counted: dict[int, tuple[list[int], str]] = {}
        self._starts: dict[int, list[int]] = {}  # per field: where its sentences start (sorted)
        self._sentence_texts: dict[tuple[int, int], tuple[int, str]] = {}

    def word(self, hit: _Hit) -> int:
        if hit.word >= 0:
            return hit.word
        field = hit.field
        if field not in self._tokens:
            cased = self.texts[field].cased
            # Without CJK, words are what lies between single spaces (normalisation collapsed them).
            has_cjk = not cased.isascii() and _CJK.search(cased) is not None
            self._tokens[field] = [m.start() for m in _TOKEN.finditer(cased)] if has_cjk else None
        starts = self._tokens[field]
        if starts is None:
            hit.word = self._count_separators(field, hit.start)
        else:
            hit.word = bisect_right(starts, hit.start)
        return hit.word

    def _count_separators(self, field: int, pos: int) -> int:
        """Spaces and line breaks before ``pos`` in the folded field."""
        counted = self._counted.get(field)
        if counted is None:
            folded = self.texts[field].folded
            # Line breaks made spaces, so one count finds both separators (most fields hold none).
            spaced = folded.replace("\n", " ") if "\n" in folded else folded
            counted = self._counted[field] = ([0], spaced)
        blocks, text = counted
        block = pos // _WORD_BLOCK
        while len(blocks) <= block:  # blocks are counted up to the furthest position asked for
            start = (len(blocks) - 1) * _WORD_BLOCK
            blocks.append(blocks[-1] + text.count(" ", start, start + _WORD_BLOCK))
        return blocks[block] + text.count(" ", block * _WORD_BLOCK, pos)

    def starts(self, field: int) -> list[int]:
        """Where the sentences of ``field`` start, in order (found the first time they are needed)."""
        starts = self._starts.get(field)
        if starts is None:
            starts = self._starts[field] = sentence_starts(self.texts[field].cased)
        return starts

    def sentence(self, hit: _Hit) -> int:
        """Where the sentence holding ``hit`` starts in its field: a sentence's identity.

        Also kept as ``hit.sentence``, which callers read once it is set.
        """
        start = hit.sentence
        if start < 0:
            starts = self.starts(hit.field)
            start = hit.sentence = starts[_sentence_index(starts, hit.start) - 1]
        return start

    def sentence_end(self, field: int, pos: int) -> int:
        """Where the sentence holding ``pos`` ends: the next sentence's start, or the field's end."""
        starts = self.starts(field)
        i = _sentence_index(starts, pos)
        return starts[i] if i < len(starts) else len(self.texts[field].cased)

    def sentence_text(self, hit: _Hit) -> str:
        """The sentence holding ``hit``, as written, trimmed to about 300 characters around the hit."""
        key = (hit.field, hit.sentence)
        cached = self._sentence_texts.get(key)
        if cached is not None and cached[0] < 0:
            return cached[1]
        text = self.texts[hit.field]
        if cached is None:
            lo = hit.sentence
            hi = self.sentence_end(hit.field, hit.start)
            o_lo = text.to_original(lo)
            sentence = text.original[o_lo : text.to_original(hi)].strip()
            if len(sentence) <= _MAX_SENTENCE:
                out = " ".join(sentence.split())
                self._sentence_texts[key] = (-1, out)
                return out
            cached = self._sentence_texts[key] = (o_lo, sentence)
        o_lo, sentence = cached
        mid = text.to_original(hit.start) - o_lo
        start = max(0, min(mid - _MAX_SENTENCE // 2, len(sentence) - _MAX_SENTENCE))
        sentence = ("…" if start else "") + sentence[start : start + _MAX_SENTENCE].strip() + "…"
        return " ".join(sentence.split())


def apply_exclusions(
    hits: dict[int, list[_Hit]], exclusions: Sequence[_Exclusion], index: ExclusionIndex, within: WithinMap,
    ctx: _Doc,
) -> dict[int, list[_Hit]]:
    """``hits`` less those cancelled by ``exclusions`` (a new dict when any hit is dropped).

    ``index`` (``exclusion_index``): pattern id -> the exclusions it is a target of, and those it is
    context of. One pass over the document's hit pattern ids gives each exclusion its targets and
    context present, so an exclusion over a concept list (hundreds of targets) costs what the document
    holds of it. ``within`` (built with the matcher): target pattern id -> the pattern ids that can lie
    within the words it finds, see ``_drop_within``. ``exclude_and_index`` without bags: the entity
    exclusions, which run once per document before any watchlist's.
    """
    return exclude_and_index(hits, exclusions, index, within, ctx, None, 0)[0]


def exclude_and_index(
    hits: dict[int, list[_Hit]], exclusions: Sequence[_Exclusion], index: ExclusionIndex, within: WithinMap,
    ctx: _Doc, bags: BagIndex | None, slots: int,
) -> tuple[dict[int, list[_Hit]], list[list[int] | None]]:
    """``apply_exclusions`` and the bag lists of what it leaves, with one pass over the hit pattern ids.

    Exclusion (by its index) -> its target, and its context, pattern ids with hits: lists, not dicts, as an
    exclusion's index is a small number. Without ``bags`` (``apply_exclusions``) no bag list is made.

    Both passes looked up every hit pattern id of the document in a table of the watchlist, and the
    exclusions only take hits away: a pattern whose hits are all cancelled is dropped from the dict and
    the other pattern ids keep their order, so the bag lists of the hits left are those of all the hits
    less the patterns dropped (``_with_hits`` lists them; each is taken out of its bags' lists). Measured
    with callgrind on 150 dense articles: ``Matcher.match`` from 495.7 million instructions to 490.7
    million (1.0%). Filtering every bag list by the hits left instead, whenever a pattern was dropped
    (most documents), took 510.1 million: a boxed integer and a dictionary lookup per pattern id listed.
    """
    n = len(exclusions)
    targets: list[list[int] | None] = [None] * n
    context: list[list[int] | None] = [None] * n
    common: list[list[int] | None] = [None] * slots
    any_context = False
    for pid in hits:
        got_slots = bags[pid] if bags is not None else None
        if got_slots is not None:
            for slot in got_slots:
                got = common[slot]
                if got is None:
                    common[slot] = [pid]
                else:
                    got.append(pid)
        roles = index[pid]
        if roles is not None:
            for i in roles[0]:
                got = targets[i]
                if got is None:
                    targets[i] = [pid]
                else:
                    got.append(pid)
            for i in roles[1]:
                any_context = True
                got = context[i]
                if got is None:
                    context[i] = [pid]
                else:
                    got.append(pid)
    if not any_context:
        return hits, common
    dropped: list[int] = []
    out = _cancel(hits, exclusions, targets, context, within, ctx, dropped)
    if bags is None:
        return out, common
    for pid in dropped:  # each at most once: a dropped pattern is no longer in ``out``
        got_slots = bags[pid]
        if got_slots is not None:
            for slot in got_slots:
                got = common[slot]
                assert got is not None
                got.remove(pid)
                if not got:
                    common[slot] = None
    return out, common


def _cancel(
    hits: dict[int, list[_Hit]], exclusions: Sequence[_Exclusion], targets: list[list[int] | None],
    context: list[list[int] | None], within: WithinMap, ctx: _Doc, dropped: list[int],
) -> dict[int, list[_Hit]]:
    """``hits`` less those cancelled by ``exclusions``, given each one's target and context pattern ids with
    hits (by index, None without); the pattern ids left without hits are added to ``dropped``."""
    out = hits
    for i in range(len(exclusions)):
        # Later exclusions see the hits earlier ones left.
        target_pids = targets[i]
        context_pids = context[i]
        if target_pids is None or context_pids is None:
            continue
        present = [pid for pid in target_pids if pid in out]
        around = [h for pid in context_pids if pid in out for h in out[pid]]
        if not present or not around:
            continue
        canceller = _Canceller(around, exclusions[i].near, ctx)
        cancelled: list[_Hit] = []
        for pid in present:
            kept: list[_Hit] = []
            for h in out[pid]:
                if canceller.cancels(h):
                    cancelled.append(h)
                else:
                    kept.append(h)
            if len(kept) < len(out[pid]):
                out = _with_hits(out, hits, pid, kept, dropped)
        if cancelled:
            out = _drop_within(out, cancelled, within, ctx, dropped)
    return out


def _drop_within(
    hits: dict[int, list[_Hit]], cancelled: list[_Hit], within: WithinMap, ctx: _Doc, dropped: list[int]
) -> dict[int, list[_Hit]]:
    """``hits`` less every hit lying within the words of a ``cancelled`` one.

    An exclusion cancels the words its target found, not one spelling of them: an exclusion of
    ``dispute`` also silences a rule's ``dispute*`` on that same "dispute", and one of ``dispute*``
    a rule's ``disputes`` (a prefix hit is widened to the end of its word). Before, exclusions cancelled
    by pattern, so each had to spell every form the rules use, and a new spelling in a rule quietly
    escaped the exclusions written for the old one. A hit of another part of the story, or one only
    overlapping the cancelled words ("China" is within "South China Sea"; "South China Sea" is not
    within "China"), stays.

    Which patterns can lie within a target's words is known when the matcher is built (``within``), so
    a cancellation looks up those few pattern ids in the hits, not every hit of the document.
    """
    out = hits
    for h in cancelled:
        folded = ctx.texts[h.field].folded
        end = h.end
        if end > h.start and is_word_char(folded[end - 1]):
            while end < len(folded) and is_word_char(folded[end]):
                end += 1
        field = h.field
        start = h.start
        for pid in within.get(h.pid, ()):
            found = out.get(pid)
            if not found:
                continue
            kept = [x for x in found if x.field != field or x.start < start or x.end > end]
            if len(kept) < len(found):
                out = _with_hits(out, hits, pid, kept, dropped)
    return out


def _with_hits(out: dict[int, list[_Hit]], original: dict[int, list[_Hit]], pid: int,
               kept: list[_Hit], dropped: list[int]) -> dict[int, list[_Hit]]:
    """``out`` with ``pid``'s hits replaced by ``kept`` (the pattern dropped, and added to ``dropped``, when
    none is left).

    ``out`` is copied first while it is still the caller's ``original``: one document's hits are shared
    by every watchlist's verdict, so what one watchlist's exclusions drop must not vanish for the next.
    """
    if out is original:
        out = dict(original)
    if kept:
        out[pid] = kept
    else:
        del out[pid]
        dropped.append(pid)
    return out


def exclusion_index(exclusions: Sequence[_Exclusion], size: int) -> ExclusionIndex:
    """Pattern id (below ``size``) -> indices of the exclusions it is a target of and of those it is context
    of, or None."""
    targets: dict[int, list[int]] = {}
    context: dict[int, list[int]] = {}
    for i, ex in enumerate(exclusions):
        for pid in ex.targets:
            targets.setdefault(pid, []).append(i)
        for pid in ex.context:
            context.setdefault(pid, []).append(i)
    table: ExclusionIndex = [None] * size
    for pid in targets.keys() | context:
        table[pid] = (tuple(targets.get(pid, ())), tuple(context.get(pid, ())))
    return table


class _Canceller:
    """Whether a hit is cancelled by another hit of an exclusion's context (overlapping it, or near it).

    A class rather than a closure per kind: in the compiled build a method is a native call, a closure
    (or a bound method kept in a variable) a generic Python call, several times slower per hit.
    """

    __slots__ = ("ctx", "mode", "near", "same", "spans", "words")

    def __init__(self, context: list[_Hit], near: int | str | None, ctx: _Doc) -> None:
        self.ctx = ctx
        self.near = 0
        self.spans: dict[int, list[_Hit]] = {}  # overlap: the context's hits by field
        self.same: dict[tuple[int, int], list[_Hit]] = {}  # sentence: the context's hits by sentence
        self.words: dict[int, list[tuple[int, _Hit]]] = {}  # words: the context's (word, hit) by field
        if near is None:
            self.mode = 0
            for c in context:
                self.spans.setdefault(c.field, []).append(c)
        elif near == "sentence":
            self.mode = 1
            for c in context:
                self.same.setdefault((c.field, ctx.sentence(c)), []).append(c)
        else:
            self.mode = 2
            self.near = int(near)
            for c in context:
                self.words.setdefault(c.field, []).append((ctx.word(c), c))

    def cancels(self, hit: _Hit) -> bool:
        if self.mode == 0:
            s, e = hit.start, hit.end
            return any(c is not hit and c.start < e and s < c.end for c in self.spans.get(hit.field, ()))
        if self.mode == 1:
            same = self.same.get((hit.field, self.ctx.sentence(hit)))
            return same is not None and any(c is not hit for c in same)
        others = self.words.get(hit.field)
        if not others:
            return False
        w = self.ctx.word(hit)
        lo, hi = w - self.near, w + self.near
        return any(lo <= x <= hi and c is not hit for x, c in others)


def evaluate(
    node: _Leaf | _Bag | _Tally | _Node, hits: dict[int, list[_Hit]], ctx: _Doc, live: _Live, memo: _Memo
) -> _Found | None:
    """The ``(hit, leaf)`` pairs satisfying ``node``, or something false when it does not hold.

    ``live``: which nodes have hits below them, for these ``hits``; ``memo`` caches bag results for
    one ``hits`` dict (equal bags are one object, shared between rules).
    """
    if type(node) is _Bag or type(node) is _Tally:
        slot = node.slot
        common = live.common[slot]
        if common is None:
            return None
        if slot in memo:
            return memo[slot]
        got = memo[slot] = _eval_bag(node, hits, common) if isinstance(node, _Bag) else _eval_tally(node, hits, common)
        return got
    if type(node) is _Leaf:
        found = [(h, node) for pid in node.pids for h in hits.get(pid, ())]
        return found or None
    assert isinstance(node, _Node)
    if not live.holds(node):
        return None
    if node.op == "any":
        out: _Found = []
        count = 0
        for child in node.children:
            got = evaluate(child, hits, ctx, live, memo)
            if got:
                out.extend(got)
                count += 1
        return out if count >= node.min else None
    if node.op == "none":
        return None if any(evaluate(child, hits, ctx, live, memo) for child in node.children) else []
    # all: ``live.holds(node)`` above already asked that each required item may hold
    parts: list[_Found] = []
    negatives: list[_Found] = []
    for child in node.children:
        if type(child) is _Node and child.op == "none":
            if node.near is None:
                # Anywhere in the document: the first item found settles it (a set of concepts set aside,
                # such as a budget story or a state's own milestone, need not be walked to its end).
                if any(evaluate(c, hits, ctx, live, memo) for c in child.children):
                    return None
                continue
            negatives.extend(f for c in child.children if (f := evaluate(c, hits, ctx, live, memo)))
            continue
        got = evaluate(child, hits, ctx, live, memo)
        if not got:
            return None
        parts.append(got)
    if node.near is None:
        return [pair for part in parts for pair in part]
    if node.near == "sentence":
        return _near_sentence(parts, negatives, ctx)
    return _near_words(parts, negatives, int(node.near), ctx)


def _eval_bag(bag: _Bag, hits: dict[int, list[_Hit]], common: list[int]) -> _Found:
    """The pairs of a live bag; ``common``: its pattern ids with hits, in hits order (see ``_Live``)."""
    leaves = bag.leaves
    if len(common) == 1:
        pid = common[0]
        return [(h, leaf) for leaf in leaves[pid] for h in hits[pid]]
    # The order of the pairs (hits' order or the bag's) is kept as it always was: evidence ties follow it.
    if len(hits) >= len(leaves):
        common = sorted(common, key=bag.rank.__getitem__)
    return [(h, leaf) for pid in common for leaf in leaves[pid] for h in hits[pid]]


def _eval_tally(tally: _Tally, hits: dict[int, list[_Hit]], common: list[int]) -> _Found | None:
    """The pairs of a tally whose pattern ids with hits are ``common``, when they make ``min`` items."""
    places = sorted(place for pid in common for place in tally.places[pid])
    if len({place[0] for place in places}) < tally.min:
        return None
    return [(h, leaf) for _, alias, leaf in places for h in hits[leaf.pids[alias]]]


def _near_words(parts: list[_Found], negatives: list[_Found], near: int, ctx: _Doc) -> _Found | None:
    """Each hit of the first part with, within ``near`` words of it, hits of every other part."""
    fields = {pair[0].field for pair in parts[0]}  # a hit in another field is near no anchor
    vetoes: dict[int, list[int]] = {}
    for neg in negatives:
        for h, _ in neg:
            if h.field in fields:
                vetoes.setdefault(h.field, []).append(ctx.word(h))
    # Each other part as field -> [(word, pair)], built when first needed (a break skips later parts).
    groups: list[dict[int, list[tuple[int, tuple[_Hit, _Leaf]]]] | None] = [None] * (len(parts) - 1)
    out: _Found = []
    for anchor in parts[0]:
        a = anchor[0]
        field = a.field
        w = ctx.word(a)
        lo, hi = w - near, w + near
        vetoed = vetoes.get(field)
        if vetoed and any(lo <= x <= hi for x in vetoed):
            continue
        support: _Found = []
        for g in range(len(groups)):
            group = groups[g]
            if group is None:
                group = groups[g] = {}
                for pair in parts[g + 1]:
                    if pair[0].field in fields:
                        group.setdefault(pair[0].field, []).append((ctx.word(pair[0]), pair))
            close = [pair for x, pair in group.get(field, ()) if lo <= x <= hi]
            if not close:
                break
            support.extend(close)
        else:
            out.append(anchor)
            out.extend(support)
    return out or None


def _near_sentence(parts: list[_Found], negatives: list[_Found], ctx: _Doc) -> _Found | None:
    """``near: sentence``: each anchor (a hit of the first part) with the other parts' hits in its sentence.

    Only the smallest part's sentences (the pivot's) can hold every part, so the other hits are kept only
    when they stand in one of those. The pairs come out in the order they always did: anchor by anchor,
    each followed by the other parts' hits of its sentence, part by part.
    """
    pivot = 0
    for i in range(1, len(parts)):
        if len(parts[i]) < len(parts[pivot]):
            pivot = i
    known = {(h.field, ctx.sentence(h)) for h, _ in parts[pivot]}  # (field, sentence start)

    # Each part's pairs by the pivot sentence they stand in; a sentence stays live while every part has one.
    groups: list[dict[tuple[int, int], _Found]] = []
    live: set[tuple[int, int]] | None = None
    for part in parts:
        group: dict[tuple[int, int], _Found] = {}
        for pair in part:
            h = pair[0]
            key = (h.field, ctx.sentence(h))
            if key in (known if live is None else live):
                got = group.get(key)
                if got is None:
                    group[key] = [pair]
                else:
                    got.append(pair)
        live = set(group) if live is None else live & group.keys()
        if not live:
            return None
        groups.append(group)
    assert live is not None
    for neg in negatives:
        for n, _ in neg:
            live.discard((n.field, ctx.sentence(n)))
    if not live:
        return None
    out: _Found = []
    for anchor in parts[0]:
        a = anchor[0]
        key = (a.field, a.sentence)  # set for every hit of the parts above
        if key not in live:  # live sentences are among the first part's
            continue
        out.append(anchor)
        for group in groups[1:]:
            out.extend(group[key])
    return out or None


def evidence(
    rule: str, rule_weight: float, found: _Found, ctx: _Doc, weights: Sequence[float], labels: Sequence[str]
) -> list[Evidence]:
    """Up to six pieces of evidence for a satisfied rule: best-weighted hits first, one per sentence.

    ``labels`` are the pattern labels, shown for leaves without a label of their own (entity aliases).
    """
    out: list[Evidence] = []
    seen: set[tuple[str, int, int]] = set()
    # The sort keys are built in one comprehension and sorted through ``list.__getitem__``: the same
    # keys and comparisons as a ``lambda`` key (hence the same order), without a Python call per hit.
    keys = [(-leaf.weight * weights[hit.field], hit.field, hit.start) for hit, leaf in found]
    for i in sorted(range(len(keys)), key=keys.__getitem__):
        hit, leaf = found[i]
        label = leaf.label or labels[hit.pid]
        key = (label, hit.field, hit.sentence if hit.sentence >= 0 else ctx.sentence(hit))
        if key in seen:
            continue
        seen.add(key)
        out.append(
            Evidence(
                rule,
                label,
                leaf.entity,
                FIELDS[hit.field],  # type: ignore[arg-type]
                ctx.sentence_text(hit),
                round(rule_weight * leaf.weight * weights[hit.field], 4),
            )
        )
        if len(out) >= _MAX_EVIDENCE_PER_RULE:
            break
    return out
