"""Compile watchlists and the gazetteer into one matcher, and match documents against it.

Every term and entity alias of every watchlist is keyed by its normalised, lower-case spelling, and every
key goes into one Aho-Corasick automaton; the ASCII keys also go into a second one, over the "marked" form
of a text (``Matcher._find_ascii``: every byte other than a letter or digit a space, and a key that needs
a word boundary before it begins with that space). Matching a document normalises each field once, scans
it (with the second automaton when the field is ASCII, as most are, with the first otherwise), keeps the
hits that respect word boundaries (Latin script) and exact case (acronyms), drops hits cancelled by
exclusions, and evaluates each watchlist's rules on the hits (``alerts.match.rules_eval``; nodes without a
hit below them are skipped unwalked).

The automaton is ahocorasick_rs (Python bindings to the Rust ``aho-corasick`` crate), built as a DFA
until the ninth session of 2026-12-04 and as a contiguous NFA since (see below), rather than
pyahocorasick, which DESIGN.md names. Both report the same overlapping matches in the same
order (checked on 22,110 texts), but the DFA scans a 5 KB article in about 28 us against pyahocorasick's
72-97 us with the default watchlists (whose trie is walked child by child), and 65 against 120 us with
10,000 terms. With the concept watchlists (2,027 keys) the DFA scans the bench's dense articles in 86-93
us, the crate's contiguous NFA in 100-102 and its noncontiguous NFA in 126-128 (two runs, each the three
in one process, best of 5), so the DFA stayed. With 5,289 keys (the ninth session) the contiguous NFA is
the faster one inside ``match``, though not alone: the DFA (about 1 KB a key) is pushed out of the cache by
the rest of the matching and the NFA is a fraction of its size. Alone, the ASCII scan takes 43 us an
article with the DFA and 49 with the contiguous NFA; matching whole dense articles with both automata
contiguous NFAs took 401 us against 421 (best of 7 alternating rounds, one process, the same results),
and real pages 230 against 238. So both automata are contiguous NFAs (``_IMPLEMENTATION``); they execute
more instructions than the DFA, which ``bench_matcher_builds.py --instructions`` counts and time does not.
With one automaton over every key (2,406) scanning every field as it is, a dense 5 KB article took about
62 us to scan and 94-102 us to find its hits (``_find``), about a fifth of ``match``. The marked form
keeps the automaton out of key states inside words and rejects "aid" in "said" or "us" in "business"
before Python sees them (117 reported matches an article instead of 149); scanning bytes spares the
crate's byte-to-character offset table, and the ASCII keys' DFA has 41 byte classes instead of 127. The
scan then takes about 39 us (with ``_NO_PREFILTER``; 47 without it; 3 more to mark the text) and
``_find`` 75-79 us against 92-96 before (400 dense articles, best of 5, process time, alternating
processes); ``match`` 446-452 us against 457-459. ``bench/bench_matcher_builds.py`` against 8928512, on
a busy machine: median ratios 1.049 and 1.013 on the dense articles (9 rounds each), 1.032 on the real
pages (7 rounds), where ``_find`` takes 49 us a page against 62.
Tried and dropped: a 32-class marked alphabet (digits as one byte: the scan 45 us with the prefilter, 57
without); ``str.startswith`` instead of slicing for the comparisons (no gain); marking non-ASCII fields
too, their characters as same-length stand-ins by a ``str.encode`` error handler, beside an automaton of
the 280 non-ASCII keys: 10% faster on the dense articles' few such fields, but a Cyrillic page's
thousands of runs made it 0.82x on the real pages (``--real-pages``).
A non-ASCII field whose non-ASCII characters are few (at most 16 distinct ones adding at most 96 UTF-8
bytes) and in no key ("£5bn", "¥", "•", an accented name) is scanned the ASCII way since 2026-12-05, each
such character an ASCII stand-in of the same kind for word boundaries (``Matcher._stand_in``): no
non-ASCII key can occur in it, and the marked scan finds the ASCII keys where ``_find_in`` does. All 54
non-ASCII fields of the bench's 400 dense articles and 135 of the real pages' 456 take that way, with the
same hits in the same order; ``_find`` on one takes 96-112 us instead of 131-144. Telling a field that
cannot (CJK, Cyrillic, a key's character) costs its fields about 7% over ``_find_in``, most of it where
a key's character is found only after encoding the field. ``bench/bench_matcher_builds.py`` against
64a05ec, on a machine shared with another build (so with wide ranges): median ratio 1.037 on the real
pages (0.926-1.218, 9 rounds; a first version, 1.058 in 7) and 1.026 on the dense articles (0.945-1.104,
7 rounds; 1.042 in 7 for the first version). Counted instructions inside ``match`` say less: 1.008 on
the real pages, 1.010 on the dense articles (callgrind, one pass), where only the tenth of the articles
with such a field gain.
Considered and not done that day: deriving the 7,292 two-word template keys ("to @type:state") from their
state's hit instead of scanning for them spares about 2.7 us of a 57 us scan (18,219 marked keys against
10,927, best of 5), about what looking at the word before each of the states' hits would cost; and taking
the frequent bare word "to" (24 hits a dense article) out of the automaton, to be found with
``bytes.find``, spares its reported matches but not its hits, and a lazy leaf that makes no hits at all
would change ``len(hits)``, which ``rules_eval._eval_bag`` reads to choose the order of a bag's pairs.
``bench/bench_matcher_speed.py`` prints the stages.
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
from bisect import bisect_left
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
    BagIndex,
    ExclusionIndex,
    WithinMap,
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
    exclude_and_index,
    exclusion_index,
    may_hold_empty,
)
from alerts.match.watchlist import Exclusion, Group, Term, WatchlistSpec, entity_type

logger = logging.getLogger(__name__)

_ASCII_WORD: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# ``bytes.translate`` table for an ASCII text's "marked" form (see ``_find_ascii``): word characters kept,
# every other byte a space, the mark of a word boundary.
_MARK: Final = 32
_TO_MARKED: Final = bytes(b if chr(b) in _ASCII_WORD else _MARK for b in range(256))
# A non-ASCII field given stand-ins (``Matcher._stand_in``) is marked with this table: as ``_TO_MARKED``, but
# ``_WORD_STAND_IN``, which stands for a letter or digit, is kept as a word character. No key holds it (checked
# when compiled), nor the field (checked first), and ASCII fields are marked with ``_TO_MARKED`` as before.
_WORD_STAND_IN: Final = "\x7f"
_TO_MARKED_STAND_IN: Final = bytes(b if chr(b) in _ASCII_WORD or b == 0x7F else _MARK for b in range(256))
_ASCII_BYTES: Final = bytes(range(128))
# A field whose non-ASCII characters add more UTF-8 bytes than this, or that has more distinct ones, goes to
# ``_find_in`` (see ``Matcher._stand_in``): one ``str.replace`` a distinct character.
_MAX_STAND_IN_EXTRA: Final = 96
_MAX_STAND_INS: Final = 16
_STAND_IN_HEAD: Final = 512  # the first characters of a field, looked at before the whole field
# Patterns that a marked text never holds, only there to turn off a prefilter (see ``_ascii_automaton``).
_NO_PREFILTER: Final = (b"\x00", b"\x01", b"\x02")


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
# What the ASCII automaton reports for a marked key (see ``_find_ascii``): each pattern it may be, as
# (pattern id, start shift, needs a boundary before, needs one after, case-sensitive, cased spelling,
# key to compare with the text or "" when the marked match is the key itself).
_AsciiEntry = tuple[int, int, bool, bool, bool, str, str]
# The automaton kind for both scans (see the module docstring): small enough to stay in the cache.
_IMPLEMENTATION: Final = ahocorasick_rs.Implementation.ContiguousNFA


@dataclass(frozen=True, slots=True)
class _Watchlist:
    spec: WatchlistSpec
    rules: tuple[tuple[str, float, _Bag | _Tally | _Node], ...]
    exclusions: tuple[_Exclusion, ...]
    veto: tuple[_Bag | _Tally | _Node, ...]
    bags: BagIndex  # pattern id -> slots of the bags and tallies holding it (see ``_Live``)
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
        ascii_automaton: ahocorasick_rs.BytesAhoCorasick | None,
        ascii_entries: Sequence[tuple[_AsciiEntry, ...]],
        watchlists: Sequence[_Watchlist],
        entity_exclusions: Sequence[_Exclusion],
        within: WithinMap,
    ) -> None:
        self._patterns = tuple(patterns)
        self._labels = tuple(p.label for p in self._patterns)
        self._automaton = automaton  # every key, for texts with non-ASCII characters
        self._entries = tuple(entries)  # automaton key index -> the patterns spelled that way
        self._ascii_automaton = ascii_automaton  # the ASCII keys, marked, for ASCII texts
        self._ascii_entries = tuple(ascii_entries)  # its pattern index -> the patterns it may be
        self._watchlists = tuple(watchlists)
        self._entity_exclusions = tuple(entity_exclusions)
        self._entity_index = exclusion_index(self._entity_exclusions, len(self._patterns))
        self._within = within  # exclusion target -> the patterns that can lie within its words
        # The characters of every key: a non-ASCII field holding none of its non-ASCII characters may be
        # scanned with stand-ins for them (``_stand_in``), unless a key holds a stand-in itself.
        self._key_chars = frozenset(ch for p in self._patterns for ch in p.key)
        self._stand_ins = ascii_automaton is not None and not ({"\x00", _WORD_STAND_IN} & self._key_chars)

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
        ctx = _Doc(texts)
        if self._entity_exclusions and hits:
            hits = apply_exclusions(hits, self._entity_exclusions, self._entity_index, self._within, ctx)
        return [self._verdict(w, hits, ctx) for w in self._watchlists]

    def _find(self, texts: Sequence[NormalizedText]) -> dict[int, list[_Hit]]:
        hits: dict[int, list[_Hit]] = {}
        for field, text in enumerate(texts):
            folded = text.folded
            if not folded:
                continue
            if folded.isascii():
                self._find_ascii(field, text, folded, hits, _TO_MARKED)
                continue
            stand_in = self._stand_in(folded)
            if stand_in:
                self._find_ascii(field, text, stand_in, hits, _TO_MARKED_STAND_IN)
            else:
                self._find_in(field, text, folded, hits)
        return hits

    def _stand_in(self, folded: str) -> str:
        """``folded`` (not ASCII) with each non-ASCII character an ASCII stand-in, or "" when it cannot be.

        A field with a few non-ASCII characters ("£5bn", "¥", "•", "Zelenskyy's café"), none of them in a
        key, holds no non-ASCII key, and its ASCII keys are found where ``_find_in`` finds them when each such
        character becomes one that no key holds either, of the same kind for word boundaries: "\x00" for a
        non-word character (marked as a space), ``_WORD_STAND_IN`` for a letter or digit (kept in the marked
        form by ``_TO_MARKED_STAND_IN``, so it is a word character there). One character for one keeps every
        position, and a key spelled out (see ``_find_ascii``) never equals a slice holding a stand-in. The
        field is then scanned by ``_find_ascii``: the marked keys' automaton, and its reported matches much
        fewer than the full automaton's on the unmarked text. A field with many distinct non-ASCII characters
        (a Cyrillic page) is left to ``_find_in``: a ``str.replace`` per character would cost more than it
        spares (see the module docstring for what was measured).
        """
        if _WORD_STAND_IN in folded or not self._stand_ins:
            return ""
        # What UTF-8 adds to the non-ASCII characters tells their number without looking at them: a CJK or
        # Cyrillic field is sent on at the cost of encoding its head (encoding a 52,000-character Japanese
        # page takes 55 us, and ``bytes.translate`` below about 1 ns a byte: when both ran on every field the
        # fields sent on cost an eighth more than ``_find_in`` alone).
        head = folded[:_STAND_IN_HEAD]
        if len(head.encode()) - len(head) > _MAX_STAND_IN_EXTRA:
            return ""
        encoded = folded.encode()
        if len(encoded) - len(folded) > _MAX_STAND_IN_EXTRA:
            return ""
        chars = set(encoded.translate(None, _ASCII_BYTES).decode())
        if len(chars) > _MAX_STAND_INS or not chars.isdisjoint(self._key_chars):
            return ""
        out = folded
        for ch in chars:
            out = out.replace(ch, _WORD_STAND_IN if is_word_char(ch) else "\x00")  # as ``_find_in`` tells a boundary
        return out

    def _find_ascii(
        self, field: int, text: NormalizedText, folded: str, hits: dict[int, list[_Hit]], to_marked: bytes
    ) -> None:
        """``_find_in`` for an ASCII text (most fields), with the automaton of marked keys.

        The text is scanned in its marked form: word characters kept, every other byte a space (the mark),
        and one mark added at each end, so position ``i`` of the text is ``i + 1`` of the marked form. A key
        that needs a word boundary before it is a pattern with a leading mark, so the automaton itself
        keeps "aid" out of "said" and "us" out of "business", and leaves its start state at once inside a
        word instead of following every key that a word's tail begins. A key holding other characters than
        letters and digits ("u.s.", "south china sea") is compared with the text, as its marked pattern
        also finds "u s" or "south-china sea". Hits come in the order of ``_find_in``: by end, longer keys
        first at one end (a pattern's leading mark does not change the order of two real hits, see
        ``_ascii_keys``).
        """
        automaton = self._ascii_automaton
        if automaton is None:
            return
        marked = b" " + folded.encode().translate(to_marked) + b" "
        # (marked pattern index, start, end) in the marked form; annotated for mypyc, as in ``_find_in``.
        found: list[tuple[int, int, int]] = automaton.find_matches_as_indexes(marked, overlapping=True)
        cased_text = text.cased
        entries = self._ascii_entries
        for key, marked_start, marked_end in found:
            end = marked_end - 1
            for pid, shift, left, right, case, cased, spelled in entries[key]:
                start = marked_start - shift
                # A pattern that begins at the leading mark or ends at the trailing one begins or ends
                # with a mark, so it is spelled out: the slice is then too short to equal it.
                if spelled and folded[start:end] != spelled:
                    continue
                if left and marked[start] != _MARK:  # the character before, in the marked form
                    continue
                if right and marked[marked_end] != _MARK:  # the character after
                    continue
                if case and cased_text[start:end] != cased:
                    continue
                _add_hit(hits, _Hit(pid, field, start, end))

    def _find_in(self, field: int, text: NormalizedText, folded: str, hits: dict[int, list[_Hit]]) -> None:
        if self._automaton is None:
            return
        # (key index, start, end) of every occurrence, overlapping ones included, by end position and
        # longer keys first at one end: the order hits (and so evidence ties) come in. The annotation is
        # for mypyc: it compiles in pip's build environment, where ahocorasick_rs is not installed, so
        # without it ``found`` is ``Any`` and every operation of the loop below goes through generic
        # Python calls (about 0.9 us a match instead of 0.3).
        found: list[tuple[int, int, int]] = self._automaton.find_matches_as_indexes(folded, overlapping=True)
        if not found:
            return
        size = len(folded)
        word = _ASCII_WORD
        cased_text = text.cased
        entries = self._entries
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
                _add_hit(hits, _Hit(pid, field, start, end))

    def _verdict(self, w: _Watchlist, hits: dict[int, list[_Hit]], ctx: _Doc) -> WatchlistMatch:
        spec = w.spec
        # One pass over the hit pattern ids for the exclusions and the bags (see ``exclude_and_index``); a
        # watchlist without exclusions has an index of Nones, so the pass makes only the bag lists.
        hits, common = exclude_and_index(hits, w.exclusions, w.exclusion_index, self._within, ctx, w.bags, w.slots)
        live = _Live(hits, w.always, common)
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

    def alias(self, alias: str, path: Loc, before: str = "", after: str = "") -> int:
        """An entity alias as a pattern: capitals only is exact case; ``before``/``after`` words make a phrase."""
        prefix = alias.endswith("*")
        body = alias[:-1].rstrip() if prefix else alias
        letters = [c for c in body if c.isalpha()]
        case = len(letters) >= 2 and all(c.isupper() for c in letters) and not any(is_cjk(c) for c in body)
        phrase = " ".join(w for w in (before, body, after) if w)
        return self.pattern(phrase, prefix and not after, case, phrase, path)

    def exclude_phrase(self, phrase: str, entity_id: str) -> int:
        """An entity's exclude phrase: case-blind, and a trailing ``*`` is a prefix as in watchlist terms
        (``Scarborough gas*`` cancels the alias inside "Scarborough gas field")."""
        prefix = phrase.endswith("*")
        body = phrase[:-1].rstrip() if prefix else phrase
        return self.pattern(body, prefix, False, phrase, ("gazetteer", entity_id, "exclude"))

    def of_type(self, reference: str, path: Loc) -> list[str]:
        """The ids of the gazetteer entities an ``@type:NAME`` reference names, in gazetteer order."""
        kind = entity_type(reference)
        ids = [e.id for e in self.gazetteer.entities.values() if e.type == kind]
        if not ids:
            raise WatchlistError(f"@{reference}: no gazetteer entity has type {kind!r}", path)
        return ids

    def entity(self, entity_id: str, path: Loc, before: str = "", after: str = "") -> tuple[int, ...]:
        """The patterns of an entity's aliases (of every entity of a type), with any words beside them."""
        # keyed by id (``entity_exclusions`` reads the plain ids); a phrase form apart from them
        key = f"{before}\x00{entity_id}\x00{after}" if before or after else entity_id
        pids = self.entity_pids.get(key)
        if pids is None and entity_type(entity_id) is not None:
            pids = tuple(dict.fromkeys(pid for e in self.of_type(entity_id, path)
                                       for pid in self.entity(e, path, before, after)))
            self.entity_pids[key] = pids
        if pids is None:
            entity = self.gazetteer.get(entity_id)
            if entity is None:
                close = [e for e in self.gazetteer.entities if entity_id[:4] in e][:5]
                hint = f" (similar ids: {', '.join(close)})" if close else ""
                raise WatchlistError(
                    f"unknown entity @{entity_id}; add it to the gazetteer or fix the id{hint}", path
                )
            pids = tuple(dict.fromkeys(self.alias(a, path, before, after) for a in entity.aliases))
            self.entity_pids[key] = pids
        return pids

    def term(self, term: Term, path: Loc) -> _Leaf:
        if term.entity:
            pids = self.entity(term.entity, path, term.before, term.after)
            return _Leaf(pids, term.weight, None, term.entity, self.nid())
        pid = self.pattern(term.text, term.prefix, term.case_sensitive, term.text, path)
        return _Leaf((pid,), term.weight, term.text + ("*" if term.prefix else ""), None, self.nid())

    def node(self, item: Term | Group, path: Loc) -> _Leaf | _Bag | _Tally | _Node:
        if isinstance(item, Group) and item.other_than_maker:
            item = self.maker_branches(item, self.systems_by_maker(item, path, "other-than-maker"))
        elif isinstance(item, Group) and item.maker_only:
            item = self.maker_only(item, path)
        if isinstance(item, Term) and item.entity and entity_type(item.entity) is not None:
            # Each entity of the type is a leaf of its own, so evidence names the state found.
            item = Group("any", tuple(Term(e, item.weight, entity=e, before=item.before, after=item.after)
                                      for e in self.of_type(item.entity, path)))
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

    def maker_only(self, group: Group, path: Loc) -> Group:
        """A ``maker-only`` group as plain groups: a system with a maker, and not ``other-than-maker``.

        "Taigei-class submarine launched in Kobe" and "Japan's Taigei-class Jingei commissioned" hold (Japan
        makes the Taigei; no other state is named); "Egypt fields Chinese HQ-9B" does not, nor does a
        document with a Japanese system beside a state that made another system found. Written with the
        branches of ``maker_branches`` under a ``none``, so it is their exact converse and needs nothing new.
        """
        by_maker = self.systems_by_maker(group, path, "maker-only")
        systems = tuple(dict.fromkeys(term for terms in by_maker.values() for term in terms))
        return Group("all", (Group("any", systems), Group("none", (self.maker_branches(group, by_maker),))))

    def systems_by_maker(self, group: Group, path: Loc, key: str) -> dict[str, list[Term]]:
        """The weapon systems that ``group``'s first item names, by the state that makes them (``made_in``).

        The first item's plain words, and its systems without a ``made_in``, take no part; ``key`` names the
        group key in the error when no system with a maker is left.
        """
        by_maker: dict[str, list[Term]] = {}
        for term in _terms(group.items[0]):
            if not term.entity:
                continue
            kind = entity_type(term.entity)
            for entity_id in self.of_type(term.entity, path) if kind is not None else [term.entity]:
                entity = self.gazetteer.get(entity_id)
                if entity is not None and entity.made_in:
                    by_maker.setdefault(entity.made_in, []).append(
                        Term(entity_id, term.weight, entity=entity_id, before=term.before, after=term.after))
        if not by_maker:
            raise WatchlistError(f"{key}: the first item names no weapon system with a made_in in the gazetteer", path)
        return by_maker

    def maker_branches(self, group: Group, by_maker: dict[str, list[Term]]) -> Group:
        """An ``other-than-maker`` group as plain groups: one branch per maker, each with the systems it makes
        (``by_maker``, from ``systems_by_maker``) and, for its states, every state but the maker.

        "Egypt fields Chinese HQ-9B" holds in China's branch through Egypt; "China shows its HQ-9B" holds in
        no branch. Written out when compiled, the branches are ordinary bags and nodes, so evaluation needs
        nothing new.
        """
        states = [e.id for e in self.gazetteer.entities.values() if e.type == "state"]
        makers = set(by_maker)  # states that make a system in this rule
        branches = tuple(
            Group("all", (Group("any", tuple(dict.fromkeys(terms))),
                          *(_other_states(item, maker, states, makers) for item in group.items[1:])), group.near)
            for maker, terms in by_maker.items()
        )
        return Group("any", branches)

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
            bag_index(roots, len(self.patterns)),
            frozenset(always),
            self.slots,
            exclusion_index(exclusions, len(self.patterns)),
        )

    def entity_exclusions(self) -> list[_Exclusion]:
        out = []
        for entity_id, pids in self.entity_pids.items():
            entity = self.gazetteer.get(entity_id)
            if entity and entity.exclude:
                context = tuple(self.exclude_phrase(e, entity_id) for e in entity.exclude)
                out.append(_Exclusion(frozenset(pids), context, None))
        return out


def _terms(item: Term | Group) -> list[Term]:
    """The terms of ``item`` and of the groups in it, in order."""
    if isinstance(item, Term):
        return [item]
    return [term for child in item.items for term in _terms(child)]


def _other_states(item: Term | Group, maker: str, states: Sequence[str], makers: set[str]) -> Term | Group:
    """``item`` with every state it names (``@type:state`` or a state's ``@id``) other than ``maker``.

    The states that make no system are one bag, the same in every branch (so evaluated once a document); each
    other maker is a group of its own, compiled to a node looked at only when the branch's systems are found.
    A bag of every state but the maker in each branch cost about 7% of the matching time on dense articles:
    a bag's terms are looked up for every hit of every document, states are among the most frequent hits,
    and each would have sat in a bag per maker. Verdicts, scores and evidence are the same either way; only
    evidence that ties (two aliases at one place, "Saudi" and "Saudi Arabia") may come in another order.
    """
    if isinstance(item, Group):
        return Group(item.op, tuple(_other_states(child, maker, states, makers) for child in item.items),
                     item.near, item.min)
    if item.entity == "type:state":
        def term(state: str) -> Term:
            return Term(state, item.weight, entity=state, before=item.before, after=item.after)
        return Group("any", (Group("any", tuple(term(s) for s in states if s not in makers)),
                             *(Group("all", (term(s),)) for s in states if s in makers and s != maker)))
    if item.entity == maker:
        return Group("any", ())  # the maker named on its own: never another state
    return item


def _always(node: _Leaf | _Bag | _Tally | _Node, always: set[int]) -> None:
    """Record the ids of the nodes of ``node``'s tree that may hold without a hit below them."""
    if isinstance(node, _Node) and may_hold_empty(node):
        always.add(node.nid)
    if isinstance(node, _Node):
        for child in node.children:
            _always(child, always)


def _add_hit(hits: dict[int, list[_Hit]], hit: _Hit) -> None:
    """File ``hit`` under its pattern id, after the hits found before it."""
    got = hits.get(hit.pid)
    if got is None:
        hits[hit.pid] = [hit]
    else:
        got.append(hit)


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
    size = len(compiler.patterns)  # every pattern now: pad the tables built before later ones were added
    for w in compiled:
        w.bags.extend([None] * (size - len(w.bags)))
        w.exclusion_index.extend([None] * (size - len(w.exclusion_index)))
    by_key: dict[str, list[_Entry]] = {}
    for pid, p in enumerate(compiler.patterns):
        by_key.setdefault(p.key, []).append((pid, p.left, p.right, p.case_sensitive, p.cased))
    logger.info(
        "compiled %d watchlists: %d patterns (matcher build: %s)", len(compiled), len(compiler.patterns), BUILD
    )
    ascii_keys, ascii_entries = _ascii_keys(compiler.patterns)
    keys = list(by_key)
    automaton = _automaton(keys)
    entries = [tuple(e) for e in by_key.values()]
    targets = {pid for ex in entity_exclusions for pid in ex.targets}
    targets.update(pid for w in compiled for ex in w.exclusions for pid in ex.targets)
    return Matcher(
        compiler.patterns,
        automaton,
        entries,
        _ascii_automaton(ascii_keys),
        ascii_entries + [()] * len(_NO_PREFILTER),
        compiled,
        entity_exclusions,
        _within_map(compiler.patterns, targets, automaton, keys, entries),
    )


def _within_map(
    patterns: Sequence[_Pattern],
    targets: set[int],
    automaton: ahocorasick_rs.AhoCorasick | None,
    keys: list[str],
    entries: Sequence[tuple[_Entry, ...]],
) -> WithinMap:
    """For each exclusion target, the patterns whose hits can lie within the words it finds.

    An exclusion cancels the words its target found, and every rule hit within them
    (``rules_eval._drop_within``). A hit's text is its pattern's key, so a hit within a target's hit is
    an occurrence of its key inside the target's key (the automaton finds those), or, for a prefix
    target, whose words are widened to the end of the word, a key that begins where a word of the
    target's key does, runs to its end and goes on in word characters ("ordered" within "order*").
    Boundaries and case are not checked: a pattern listed that cannot be there costs one lookup. Worked
    out here once rather than per cancellation by looking through every hit of the document, which was
    about a tenth of the matcher's time on dense articles.
    """
    within: WithinMap = {}
    if automaton is None:
        return within
    ordered = sorted(range(len(keys)), key=keys.__getitem__)
    sorted_keys = [keys[i] for i in ordered]
    for target in targets:
        key = patterns[target].key
        found: set[int] = {target}
        for index, _, _ in automaton.find_matches_as_indexes(key, overlapping=True):
            found.update(entry[0] for entry in entries[index])
        if patterns[target].prefix and is_word_char(key[-1]):
            for i in range(len(key)):
                # A key with a boundary before begins after a non-word character; one without begins
                # with a non-word character.
                if i and is_word_char(key[i - 1]) and is_word_char(key[i]):
                    continue
                tail = key[i:]
                j = bisect_left(sorted_keys, tail)
                while j < len(sorted_keys) and sorted_keys[j].startswith(tail):
                    if all(is_word_char(c) for c in sorted_keys[j][len(tail):]):
                        found.update(entry[0] for entry in entries[ordered[j]])
                    j += 1
        within[target] = tuple(sorted(found))
    return within


def _ascii_keys(patterns: Sequence[_Pattern]) -> tuple[list[bytes], list[tuple[_AsciiEntry, ...]]]:
    """The marked patterns of the ASCII keys (see ``Matcher._find_ascii``) and what each may be.

    A key whose patterns all need a boundary before it gets a leading mark (start shift 0: the key begins
    one past the mark); any other keeps its boundary test (shift 1: the marked form is one longer at the
    front). A key with other characters than letters and digits is spelled out, to be compared with the
    text. Keys that mark alike ("u.s" and "u s") share a pattern, their entries longest key first, each
    key's in pattern order.

    That keeps the order of ``_find_in``, whose automaton reports the hits ending at one place longest
    key first. Of two real hits ending at one place, the longer key (by at least one character) has the
    longer marked pattern, or one as long when only the shorter key has a leading mark; the two patterns
    are then both the marked text's last characters there, so the same pattern, whose entries are in
    that order.
    """
    by_key: dict[str, list[tuple[int, _Pattern]]] = {}
    for pid, p in enumerate(patterns):
        if p.key.isascii():  # the others cannot occur in an ASCII text
            by_key.setdefault(p.key, []).append((pid, p))
    by_marked: dict[bytes, list[tuple[int, int, _AsciiEntry]]] = {}
    for key, spelled_alike in by_key.items():
        anchored = all(p.left for _, p in spelled_alike)
        body = key.encode().translate(_TO_MARKED)
        marked = b" " + body if anchored else body
        spelled = "" if all(c in _ASCII_WORD for c in key) else key
        group = by_marked.setdefault(marked, [])
        for pid, p in spelled_alike:
            entry = (pid, 0 if anchored else 1, p.left and not anchored, p.right, p.case_sensitive, p.cased, spelled)
            group.append((-len(key), pid, entry))
    entries = [tuple(entry for _, _, entry in sorted(group)) for group in by_marked.values()]
    return list(by_marked), entries


def _automaton(keys: list[str]) -> ahocorasick_rs.AhoCorasick | None:
    """One automaton over ``keys`` (reporting key indices), or None without keys."""
    if not keys:
        return None
    return ahocorasick_rs.AhoCorasick(keys, implementation=_IMPLEMENTATION)


def _ascii_automaton(keys: list[bytes]) -> ahocorasick_rs.BytesAhoCorasick | None:
    """``_automaton`` for the marked ASCII keys, scanning bytes: no character offsets to work out.

    Nearly every marked key begins with the mark, and when the patterns begin with at most three
    distinct bytes the crate (aho-corasick 1.1, which ahocorasick_rs 1.0 wraps; it offers no switch)
    puts a prefilter before its automaton: a ``memchr`` for the next space each time the scan is back
    at the start state, which is every few characters in prose. On the bench's articles that made the
    scan slower, 47 us an article against 39 without it, so three one-byte patterns that never occur
    in a marked text (it holds only letters, digits and spaces) are added after the keys, which turns
    it off (``compile_matcher`` gives them empty entries).
    """
    if not keys:
        return None
    return ahocorasick_rs.BytesAhoCorasick(keys + list(_NO_PREFILTER), implementation=_IMPLEMENTATION)
