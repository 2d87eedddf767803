"""Compile watchlists and the gazetteer into one matcher, and match documents against it.

Every term and entity alias of every watchlist goes into one Aho-Corasick automaton keyed by its
normalised, lower-case spelling. Matching a document normalises each field once, runs the automaton once
per field, keeps the hits that respect word boundaries (Latin script) and exact case (acronyms), drops
hits cancelled by exclusions, and evaluates each watchlist's rules on the hits (``alerts.match.rules_eval``;
nodes without a hit below them are skipped unwalked).

The automaton is ahocorasick_rs (Python bindings to the Rust ``aho-corasick`` crate) built as a DFA,
rather than pyahocorasick, which DESIGN.md names. Both report the same overlapping matches in the same
order (checked on 22,110 texts), but the DFA scans a 5 KB article in about 28 us against pyahocorasick's
72-97 us with the default watchlists (whose trie is walked child by child), and 65 against 120 us with
10,000 terms. With the concept watchlists (2,027 keys) the DFA scans the bench's dense articles in 86-93
us, the crate's contiguous NFA in 100-102 and its noncontiguous NFA in 126-128 (two runs, each the three
in one process, best of 5), so the DFA stays; the scan is most of the "find hits" stage and about a fifth
of ``match``.
``bench/bench_matcher_speed.py`` prints both.
This module and ``alerts.match.rules_eval`` are compiled with mypyc where a C compiler is present (setup.py;
``alerts.match.compiled`` picks the build), so keep them strictly typed and free of dynamic tricks. mypyc
runs in pip's isolated build environment, where third-party packages such as ahocorasick_rs are not
installed: annotate what they return (see ``_find_in``), or the compiled code handles it as ``Any``.
Scores: a satisfied rule adds ``rule weight x max(term weight x field weight)`` over its hits; a
watchlist matches when the sum reaches its threshold and no ``none`` veto is present.

The compiled ``Matcher`` is read-only, so one instance may serve several threads.

Settings read: none (watchlists and gazetteer are passed in by the scheduler).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import ahocorasick_rs

from alerts.errors import Loc, WatchlistError
from alerts.match.compiled import BUILD
from alerts.match.gazetteer import Gazetteer
from alerts.match.models import Document, Evidence, WatchlistMatch
from alerts.match.normalize import NormalizedText, is_cjk, is_word_char, normalize, normalize_term
from alerts.match.rules_eval import (
    ExclusionIndex,
    _Bag,
    _Doc,
    _Exclusion,
    _Found,
    _Hit,
    _Leaf,
    _Live,
    _Node,
    _Tally,
    apply_exclusions,
    bag_index,
    evaluate,
    evidence,
    exclusion_index,
    may_hold_empty,
)
from alerts.match.watchlist import Exclusion, Group, Term, WatchlistSpec

logger = logging.getLogger(__name__)

_ASCII_WORD: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass(frozen=True, slots=True)
class _Pattern:
    key: str  # normalised, lower case: what the automaton finds
    cased: str  # normalised, case kept: compared when case_sensitive
    prefix: bool
    case_sensitive: bool
    left: bool  # needs a word boundary before
    right: bool  # needs a word boundary after
    label: str  # the spelling shown in evidence


# What the automaton reports for a key: each pattern spelled that way, as
# (pattern id, needs a boundary before, needs one after, case-sensitive, cased spelling).
_Entry = tuple[int, bool, bool, bool, str]
# A DFA is the fastest automaton to scan with; above this many keys its memory (about 1 KB a key) is
# left to the crate's own choice of automaton instead.
_DFA_MAX_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class _Watchlist:
    spec: WatchlistSpec
    rules: tuple[tuple[str, float, _Bag | _Tally | _Node], ...]
    exclusions: tuple[_Exclusion, ...]
    veto: tuple[_Bag | _Tally | _Node, ...]
    bags: dict[int, tuple[int, ...]]  # pattern id -> slots of the bags and tallies holding it (see ``_Live``)
    always: frozenset[int]  # nodes that may hold without hits: always evaluated
    slots: int  # bag and tally slots given when it was compiled (its own are below)
    exclusion_index: ExclusionIndex


class Matcher:
    """Watchlists compiled against a gazetteer; call ``match`` for each document."""

    def __init__(
        self,
        patterns: Sequence[_Pattern],
        automaton: ahocorasick_rs.AhoCorasick | None,
        entries: Sequence[tuple[_Entry, ...]],
        watchlists: Sequence[_Watchlist],
        entity_exclusions: Sequence[_Exclusion],
    ) -> None:
        self._patterns = tuple(patterns)
        self._labels = tuple(p.label for p in self._patterns)
        self._automaton = automaton
        self._entries = tuple(entries)  # automaton key index -> the patterns spelled that way
        self._watchlists = tuple(watchlists)
        self._entity_exclusions = tuple(entity_exclusions)
        self._entity_index = exclusion_index(self._entity_exclusions)

    @property
    def watchlist_names(self) -> tuple[str, ...]:
        """Names of the compiled watchlists, in config order."""
        return tuple(w.spec.name for w in self._watchlists)

    @property
    def pattern_count(self) -> int:
        """How many distinct terms and aliases the automaton holds."""
        return len(self._patterns)

    def match(self, doc: Document) -> list[WatchlistMatch]:
        """Match one document against every watchlist.

        Args:
            doc: title, lead (teaser) and body; any of them may be empty.

        Returns:
            One ``WatchlistMatch`` per watchlist, in config order, matched or not, with evidence.
        """
        texts = [normalize(doc.title), normalize(doc.lead), normalize(doc.body)]
        hits = self._find(texts)
        ctx = _Doc(texts, hits)
        if self._entity_exclusions and hits:
            hits = apply_exclusions(hits, self._entity_exclusions, self._entity_index, ctx)
        return [self._verdict(w, hits, ctx) for w in self._watchlists]

    def _find(self, texts: Sequence[NormalizedText]) -> dict[int, list[_Hit]]:
        hits: dict[int, list[_Hit]] = {}
        for field, text in enumerate(texts):
            folded = text.folded
            if folded:
                self._find_in(field, text, folded, hits)
        return hits

    def _find_in(self, field: int, text: NormalizedText, folded: str, hits: dict[int, list[_Hit]]) -> None:
        if self._automaton is None:
            return
        # (key index, start, end) of every occurrence, overlapping ones included, by end position and
        # longer keys first at one end: the order hits (and so evidence ties) come in. The annotation is
        # for mypyc: it compiles in pip's build environment, where ahocorasick_rs is not installed, so
        # without it ``found`` is ``Any`` and every operation of the loops below goes through generic
        # Python calls (about 0.9 us a match instead of 0.3).
        found: list[tuple[int, int, int]] = self._automaton.find_matches_as_indexes(folded, overlapping=True)
        if not found:
            return
        size = len(folded)
        word = _ASCII_WORD
        cased_text = text.cased
        entries = self._entries
        if folded.isascii():
            # The common case, without the Unicode word-character tests of the loop below.
            for key, start, end in found:
                for pid, left, right, case, cased in entries[key]:
                    if left and start > 0 and folded[start - 1] in word:
                        continue
                    if right and end < size and folded[end] in word:
                        continue
                    if case and cased_text[start:end] != cased:
                        continue
                    got = hits.get(pid)
                    if got is None:
                        hits[pid] = [_Hit(pid, field, start, end)]
                    else:
                        got.append(_Hit(pid, field, start, end))
            return
        for key, start, end in found:
            for pid, left, right, case, cased in entries[key]:
                if left and start > 0:
                    ch = folded[start - 1]
                    if ch in word or (ch > "\x7f" and ch.isalnum() and not is_cjk(ch)):
                        continue
                if right and end < size:
                    ch = folded[end]
                    if ch in word or (ch > "\x7f" and ch.isalnum() and not is_cjk(ch)):
                        continue
                if case and cased_text[start:end] != cased:
                    continue
                got = hits.get(pid)
                if got is None:
                    hits[pid] = [_Hit(pid, field, start, end)]
                else:
                    got.append(_Hit(pid, field, start, end))

    def _verdict(self, w: _Watchlist, hits: dict[int, list[_Hit]], ctx: _Doc) -> WatchlistMatch:
        spec = w.spec
        if w.exclusions and hits:
            hits = apply_exclusions(hits, w.exclusions, w.exclusion_index, ctx)
        live = _Live(hits, w.bags, w.always, w.slots)
        weights = spec.field_weights
        memo: dict[int, _Found | None] = {}
        score = 0.0
        satisfied: list[str] = []
        out: list[Evidence] = []
        for name, rule_weight, node in w.rules:
            found = evaluate(node, hits, ctx, live, memo)  # None at once without a hit below the rule
            if not found:
                continue
            best = max([leaf.weight * weights[hit.field] for hit, leaf in found])
            score += rule_weight * best
            satisfied.append(name)
            out.extend(evidence(name, rule_weight, found, ctx, weights, self._labels))
        vetoed = [
            self._describe(found)
            for node in w.veto
            if (found := evaluate(node, hits, ctx, live, memo))
        ]
        score = round(score, 4)
        matched = bool(satisfied) and score >= spec.threshold and not vetoed
        if vetoed:
            reason = f"vetoed: found {', '.join(vetoed)}"
        elif not satisfied:
            reason = "no rule satisfied"
        else:
            cmp = ">=" if matched else "<"
            reason = f"score {score:g} {cmp} threshold {spec.threshold:g} ({', '.join(satisfied)})"
        return WatchlistMatch(spec.name, matched, score, spec.threshold, tuple(satisfied), tuple(out), reason)

    def _describe(self, found: _Found) -> str:
        hit, leaf = found[0]
        return repr(leaf.label or self._labels[hit.pid])


class _Compiler:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.patterns: list[_Pattern] = []
        self.index: dict[tuple[str, bool, bool], int] = {}
        self.entity_pids: dict[str, tuple[int, ...]] = {}
        # Equal bags (a set used by several rules) become one object, evaluated once per document.
        self.bags: dict[tuple[tuple[int, tuple[_Leaf, ...]], ...], _Bag] = {}
        self.nids = 0  # node ids given so far (leaves and nodes)
        self.slots = 0  # bag and tally slots given so far (see ``_Live``)

    def nid(self) -> int:
        self.nids += 1
        return self.nids - 1

    def slot(self) -> int:
        self.slots += 1
        return self.slots - 1

    def pattern(self, text: str, prefix: bool, case_sensitive: bool, label: str, path: Loc) -> int:
        cased = normalize_term(text)
        if not cased:
            raise WatchlistError(f"term {label!r} is empty after normalisation", path)
        key = (cased if case_sensitive else cased.lower(), prefix, case_sensitive)
        pid = self.index.get(key)
        if pid is None:
            pid = len(self.patterns)
            left = is_word_char(cased[0])
            right = is_word_char(cased[-1]) and not prefix
            self.patterns.append(_Pattern(cased.lower(), cased, prefix, case_sensitive, left, right, label))
            self.index[key] = pid
        return pid

    def alias(self, alias: str, path: Loc) -> int:
        prefix = alias.endswith("*")
        body = alias[:-1].rstrip() if prefix else alias
        letters = [c for c in body if c.isalpha()]
        case = len(letters) >= 2 and all(c.isupper() for c in letters) and not any(is_cjk(c) for c in body)
        return self.pattern(body, prefix, case, body, path)

    def exclude_phrase(self, phrase: str, entity_id: str) -> int:
        """An entity's exclude phrase: case-blind, and a trailing ``*`` is a prefix as in watchlist terms
        (``Scarborough gas*`` cancels the alias inside "Scarborough gas field")."""
        prefix = phrase.endswith("*")
        body = phrase[:-1].rstrip() if prefix else phrase
        return self.pattern(body, prefix, False, phrase, ("gazetteer", entity_id, "exclude"))

    def entity(self, entity_id: str, path: Loc) -> tuple[int, ...]:
        pids = self.entity_pids.get(entity_id)
        if pids is None:
            entity = self.gazetteer.get(entity_id)
            if entity is None:
                close = [e for e in self.gazetteer.entities if entity_id[:4] in e][:5]
                hint = f" (similar ids: {', '.join(close)})" if close else ""
                raise WatchlistError(
                    f"unknown entity @{entity_id}; add it to the gazetteer or fix the id{hint}", path
                )
            pids = tuple(dict.fromkeys(self.alias(a, path) for a in entity.aliases))
            self.entity_pids[entity_id] = pids
        return pids

    def term(self, term: Term, path: Loc) -> _Leaf:
        if term.entity:
            return _Leaf(self.entity(term.entity, path), term.weight, None, term.entity, self.nid())
        pid = self.pattern(term.text, term.prefix, term.case_sensitive, term.text, path)
        return _Leaf((pid,), term.weight, term.text + ("*" if term.prefix else ""), None, self.nid())

    def node(self, item: Term | Group, path: Loc) -> _Leaf | _Bag | _Tally | _Node:
        if isinstance(item, Term):
            return self.term(item, path)
        children = tuple(self.node(child, path) for child in item.items)
        if item.op == "any" and item.min == 1 and all(isinstance(c, _Leaf | _Bag) for c in children):
            leaves: dict[int, list[_Leaf]] = {}
            for child in children:
                if isinstance(child, _Leaf):
                    pairs = [(pid, child) for pid in child.pids]
                elif isinstance(child, _Bag):
                    pairs = [(pid, leaf) for pid, ls in child.leaves.items() for leaf in ls]
                for pid, leaf in pairs:
                    if leaf not in leaves.setdefault(pid, []):
                        leaves[pid].append(leaf)
            by_pid = {pid: tuple(ls) for pid, ls in leaves.items()}
            key = tuple(by_pid.items())
            bag = self.bags.get(key)
            if bag is None:
                rank = {pid: i for i, pid in enumerate(by_pid)}
                bag = self.bags[key] = _Bag(by_pid, self.slot(), rank)
            return bag
        if item.op == "any" and item.min > 1 and all(isinstance(c, _Leaf) for c in children):
            places: dict[int, list[tuple[int, int, _Leaf]]] = {}
            for i, item_leaf in enumerate(children):
                assert isinstance(item_leaf, _Leaf)
                for j, pid in enumerate(item_leaf.pids):
                    places.setdefault(pid, []).append((i, j, item_leaf))
            return _Tally({pid: tuple(p) for pid, p in places.items()}, item.min, self.slot())
        required = tuple(c for c in children if not (isinstance(c, _Node) and c.op == "none"))
        return _Node(item.op, children, item.near, item.min, self.nid(), required if item.op == "all" else ())

    def exclusion(self, ex: Exclusion) -> _Exclusion:
        targets = frozenset(pid for t in ex.terms for pid in self.term(t, ex.path).pids)
        context = tuple(dict.fromkeys(pid for t in ex.context for pid in self.term(t, ex.path).pids))
        return _Exclusion(targets, context, ex.near)

    def watchlist(self, spec: WatchlistSpec) -> _Watchlist:
        rules = tuple((r.name, r.weight, self.node(r.group, r.path)) for r in spec.rules)
        exclusions = tuple(self.exclusion(ex) for ex in spec.exclude)
        veto = tuple(self.node(g, (*spec.path, "none")) for g in spec.veto)
        roots = [node for _, _, node in rules] + list(veto)
        always: set[int] = set()
        for root in roots:
            _always(root, always)
        return _Watchlist(
            spec,
            rules,  # type: ignore[arg-type]  # a group compiles to a bag, a tally or a node
            exclusions,
            veto,  # type: ignore[arg-type]
            bag_index(roots),
            frozenset(always),
            self.slots,
            exclusion_index(exclusions),
        )

    def entity_exclusions(self) -> list[_Exclusion]:
        out = []
        for entity_id, pids in self.entity_pids.items():
            entity = self.gazetteer.get(entity_id)
            if entity and entity.exclude:
                context = tuple(self.exclude_phrase(e, entity_id) for e in entity.exclude)
                out.append(_Exclusion(frozenset(pids), context, None))
        return out


def _always(node: _Leaf | _Bag | _Tally | _Node, always: set[int]) -> None:
    """Record the ids of the nodes of ``node``'s tree that may hold without a hit below them."""
    if isinstance(node, _Node) and may_hold_empty(node):
        always.add(node.nid)
    if isinstance(node, _Node):
        for child in node.children:
            _always(child, always)


def compile_matcher(watchlists: Sequence[WatchlistSpec], gazetteer: Gazetteer) -> Matcher:
    """Compile watchlists into one matcher (automata over every term and alias).

    Args:
        watchlists: validated watchlists, from ``alerts.match.watchlist.parse_watchlists``.
        gazetteer: entities that ``@id`` terms refer to, from ``alerts.match.gazetteer.load_gazetteer``.

    Returns:
        A read-only matcher, safe to share between threads.

    Raises:
        WatchlistError: a watchlist refers to an unknown entity; ``loc`` names the rule.
    """
    compiler = _Compiler(gazetteer)
    compiled = [compiler.watchlist(spec) for spec in watchlists]
    entity_exclusions = compiler.entity_exclusions()
    by_key: dict[str, list[_Entry]] = {}
    for pid, p in enumerate(compiler.patterns):
        by_key.setdefault(p.key, []).append((pid, p.left, p.right, p.case_sensitive, p.cased))
    logger.info(
        "compiled %d watchlists: %d patterns (matcher build: %s)", len(compiled), len(compiler.patterns), BUILD
    )
    return Matcher(
        compiler.patterns, _automaton(list(by_key)), [tuple(e) for e in by_key.values()], compiled, entity_exclusions
    )


def _automaton(keys: list[str]) -> ahocorasick_rs.AhoCorasick | None:
    """One automaton over ``keys`` (reporting key indices), or None without keys."""
    if not keys:
        return None
    dfa = ahocorasick_rs.Implementation.DFA if len(keys) <= _DFA_MAX_KEYS else None
    return ahocorasick_rs.AhoCorasick(keys, implementation=dfa)
