"""Compile watchlists and the gazetteer into one matcher, and match documents against it.

Every term and entity alias of every watchlist goes into an Aho-Corasick automaton (pyahocorasick)
keyed by its normalised, lower-case spelling: one for ASCII keys, one for the others (CJK...), which runs
only on texts holding one of their characters. Matching a document normalises each field once, runs the
automaton once per field, keeps the hits that respect word boundaries (Latin script) and exact case
(acronyms), drops hits cancelled by exclusions, and evaluates each watchlist's rules on the hits.
Scores: a satisfied rule adds ``rule weight x max(term weight x field weight)`` over its hits; a
watchlist matches when the sum reaches its threshold and no ``none`` veto is present.

The compiled ``Matcher`` is read-only, so one instance may serve several threads.

Settings read: none (watchlists and gazetteer are passed in by the scheduler).
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from alerts.errors import WatchlistError
from alerts.gazetteer import Gazetteer
from alerts.models import Document, Evidence, WatchlistMatch
from alerts.normalize import NormalizedText, is_cjk, is_word_char, normalize, normalize_term
from alerts.watchlist import FIELDS, Exclusion, Group, Term, WatchlistSpec

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# A sentence ends at 。！？ or a line break, or at . ! ? followed by closing marks (.!?"')]) and a space
# (group 1). One character class each, so the regex engine skips quickly to the next candidate.
_HARD_END = re.compile(r"[。！？\n]")
_SOFT_END = re.compile(r"[.!?](?=[.!?\"')\]]*( ))")
_ASCII_BYTES = bytes(range(128))
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_MAX_SENTENCE = 300
_MAX_EVIDENCE_PER_RULE = 6


@dataclass(frozen=True, slots=True)
class _Pattern:
    key: str  # normalised, lower case: what the automaton finds
    cased: str  # normalised, case kept: compared when case_sensitive
    prefix: bool
    case_sensitive: bool
    left: bool  # needs a word boundary before
    right: bool  # needs a word boundary after
    label: str  # the spelling shown in evidence


def _non_ascii(text: str) -> set[str]:
    """The distinct non-ASCII characters of ``text`` (found in C: its UTF-8 less the ASCII bytes)."""
    raw = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return set(raw.decode("utf-8", "surrogatepass"))


class _Hit:
    __slots__ = ("end", "field", "pid", "sentence", "start", "word")

    def __init__(self, pid: int, field: int, start: int, end: int) -> None:
        self.pid = pid
        self.field = field
        self.start = start
        self.end = end
        self.word = -1  # word index in the field, computed when a NEAR rule needs it
        self.sentence = -1  # sentence index in the field, computed when needed


def _sentence_starts(text: str) -> list[int]:
    """Where sentences begin: after . ! ? and a space (not "U.S." or "J. Smith"), after 。！？ and \\n."""
    starts = [0]
    starts.extend(m.end() for m in _HARD_END.finditer(text))
    for m in _SOFT_END.finditer(text):
        i = m.start()
        if i >= 1 and text[i - 1].isupper() and (i < 2 or not text[i - 2].isalpha()):
            continue  # an initial or an abbreviation such as U.S.
        starts.append(m.end(1))
    # Both kinds of start are in order, and never at the same position: merge them.
    starts.sort()
    return starts


@dataclass(frozen=True, slots=True)
class _Leaf:
    pids: tuple[int, ...]
    weight: float
    label: str | None  # None: show the pattern (the alias) itself
    entity: str | None


@dataclass(frozen=True, slots=True)
class _Bag:
    """An ``any`` of plain terms, flattened: pattern id -> the leaves that use it."""

    leaves: dict[int, tuple[_Leaf, ...]]


@dataclass(frozen=True, slots=True)
class _Node:
    op: str
    children: tuple[_Leaf | _Bag | _Node, ...]
    near: int | str | None
    min: int


@dataclass(frozen=True, slots=True)
class _Exclusion:
    targets: frozenset[int]
    context: tuple[int, ...]
    near: int | str | None


@dataclass(frozen=True, slots=True)
class _Watchlist:
    spec: WatchlistSpec
    rules: tuple[tuple[str, float, _Node], ...]
    exclusions: tuple[_Exclusion, ...]
    veto: tuple[_Node, ...]


_Found = list[tuple[_Hit, _Leaf]]


class _Doc:
    """One document being matched: normalised fields and lazily computed word and sentence positions."""

    def __init__(self, texts: Sequence[NormalizedText]) -> None:
        self.texts = texts
        self._tokens: dict[int, list[int] | None] = {}
        # Space-separated fields: positions whose word index is known, and those indices, so each
        # new position only counts the separators after the nearest known one.
        self._counted: dict[int, tuple[list[int], list[int]]] = {}
        self._sentences: dict[int, list[int]] = {}

    def word(self, hit: _Hit) -> int:
        if hit.word >= 0:
            return hit.word
        field = hit.field
        if field not in self._tokens:
            cased = self.texts[field].cased
            # Without CJK, words are what lies between single spaces (normalisation collapsed them).
            self._tokens[field] = [m.start() for m in _TOKEN.finditer(cased)] if _CJK.search(cased) else None
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
            counted = self._counted[field] = ([0], [0])
        known, counts = counted
        i = bisect_right(known, pos)
        base = known[i - 1]
        folded = self.texts[field].folded
        count = counts[i - 1] + folded.count(" ", base, pos) + folded.count("\n", base, pos)
        known.insert(i, pos)
        counts.insert(i, count)
        return count

    def sentence_starts(self, field: int) -> list[int]:
        starts = self._sentences.get(field)
        if starts is None:
            starts = _sentence_starts(self.texts[field].cased)
            self._sentences[field] = starts
        return starts

    def sentence(self, hit: _Hit) -> int:
        if hit.sentence < 0:
            hit.sentence = bisect_right(self.sentence_starts(hit.field), hit.start)
        return hit.sentence

    def sentence_key(self, hit: _Hit) -> tuple[int, int]:
        """Equal for two hits exactly when they are in the same sentence of the same field."""
        return hit.field, (hit.sentence if hit.sentence >= 0 else self.sentence(hit))

    def span(self, field: int, pos: int) -> tuple[int, int]:
        """Start and end (normalised positions) of the sentence holding ``pos``."""
        starts = self.sentence_starts(field)
        i = bisect_right(starts, pos)
        return starts[i - 1], (starts[i] if i < len(starts) else len(self.texts[field].cased))

    def sentence_text(self, hit: _Hit) -> str:
        text = self.texts[hit.field]
        lo, hi = self.span(hit.field, hit.start)
        o_lo, o_hi = text.to_original(lo), text.to_original(hi)
        sentence = text.original[o_lo:o_hi].strip()
        if len(sentence) > _MAX_SENTENCE:
            mid = text.to_original(hit.start) - o_lo
            start = max(0, min(mid - _MAX_SENTENCE // 2, len(sentence) - _MAX_SENTENCE))
            sentence = ("…" if start else "") + sentence[start : start + _MAX_SENTENCE].strip() + "…"
        return " ".join(sentence.split())

    def close(self, a: _Hit, b: _Hit, near: int | str) -> bool:
        if a.field != b.field:
            return False
        if near == "sentence":
            return self.sentence(a) == self.sentence(b)
        return abs(self.word(a) - self.word(b)) <= int(near)


class Matcher:
    """Watchlists compiled against a gazetteer; call ``match`` for each document."""

    def __init__(
        self,
        patterns: Sequence[_Pattern],
        automata: tuple[ahocorasick.Automaton | None, ahocorasick.Automaton | None],
        other_chars: frozenset[str],
        watchlists: Sequence[_Watchlist],
        entity_exclusions: Sequence[_Exclusion],
    ) -> None:
        self._patterns = tuple(patterns)
        # Keys in plain ASCII, and the others (CJK, Cyrillic...), which only a text holding one of
        # their non-ASCII characters (``other_chars``) can match: most texts skip the second automaton.
        self._ascii, self._other = automata
        self._other_chars = other_chars
        self._watchlists = tuple(watchlists)
        self._entity_exclusions = tuple(entity_exclusions)

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
        ctx = _Doc(texts)
        hits = self._find(texts)
        if self._entity_exclusions and hits:
            hits = _apply_exclusions(hits, self._entity_exclusions, ctx)
        return [self._verdict(w, hits, ctx) for w in self._watchlists]

    def _find(self, texts: Sequence[NormalizedText]) -> dict[int, list[_Hit]]:
        hits: dict[int, list[_Hit]] = {}
        for field, text in enumerate(texts):
            folded = text.folded
            if folded:
                self._find_in(field, text, folded, hits)
        return hits

    def _find_in(self, field: int, text: NormalizedText, folded: str, hits: dict[int, list[_Hit]]) -> None:
        if self._other is None or folded.isascii() or self._other_chars.isdisjoint(_non_ascii(folded)):
            if self._ascii is None:
                return
            found = self._ascii.iter(folded)
        else:
            other = list(self._other.iter(folded))
            if not other:
                if self._ascii is None:
                    return
                found = self._ascii.iter(folded)
            else:
                # One automaton reports by end position, longer keys first: merge in that order.
                found = other if self._ascii is None else [*self._ascii.iter(folded), *other]
                found.sort(key=lambda hit: (hit[0], -hit[1][0][1]))
        last = len(folded) - 1
        word = _ASCII_WORD
        cased_text = text.cased
        for end, entries in found:
            for pid, size, left, right, case, cased in entries:
                start = end - size + 1
                if left and start > 0:
                    ch = folded[start - 1]
                    if ch in word or (ch > "\x7f" and ch.isalnum() and not is_cjk(ch)):
                        continue
                if right and end < last:
                    ch = folded[end + 1]
                    if ch in word or (ch > "\x7f" and ch.isalnum() and not is_cjk(ch)):
                        continue
                if case and cased_text[start : end + 1] != cased:
                    continue
                got = hits.get(pid)
                if got is None:
                    hits[pid] = [_Hit(pid, field, start, end + 1)]
                else:
                    got.append(_Hit(pid, field, start, end + 1))

    def _verdict(self, w: _Watchlist, hits: dict[int, list[_Hit]], ctx: _Doc) -> WatchlistMatch:
        spec = w.spec
        if w.exclusions and hits:
            hits = _apply_exclusions(hits, w.exclusions, ctx)
        weights = spec.field_weights
        score = 0.0
        satisfied: list[str] = []
        evidence: list[Evidence] = []
        for name, rule_weight, node in w.rules:
            found = _eval(node, hits, ctx)
            if not found:
                continue
            best = max(leaf.weight * weights[hit.field] for hit, leaf in found)
            score += rule_weight * best
            satisfied.append(name)
            evidence.extend(self._evidence(name, rule_weight, found, ctx, weights))
        vetoed = [_describe(found, self._patterns) for node in w.veto if (found := _eval(node, hits, ctx))]
        score = round(score, 4)
        matched = bool(satisfied) and score >= spec.threshold and not vetoed
        if vetoed:
            reason = f"vetoed: found {', '.join(vetoed)}"
        elif not satisfied:
            reason = "no rule satisfied"
        else:
            cmp = ">=" if matched else "<"
            reason = f"score {score:g} {cmp} threshold {spec.threshold:g} ({', '.join(satisfied)})"
        return WatchlistMatch(
            spec.name, matched, score, spec.threshold, tuple(satisfied), tuple(evidence), reason
        )

    def _evidence(
        self, rule: str, rule_weight: float, found: _Found, ctx: _Doc, weights: Sequence[float]
    ) -> list[Evidence]:
        out: list[Evidence] = []
        seen: set[tuple[str, int, int]] = set()
        ordered = sorted(
            found, key=lambda hl: (-hl[1].weight * weights[hl[0].field], hl[0].field, hl[0].start)
        )
        for hit, leaf in ordered:
            label = leaf.label or self._patterns[hit.pid].label
            key = (label, hit.field, ctx.sentence(hit))
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


def _describe(found: _Found, patterns: Sequence[_Pattern]) -> str:
    hit, leaf = found[0]
    return repr(leaf.label or patterns[hit.pid].label)


def _apply_exclusions(
    hits: dict[int, list[_Hit]], exclusions: Sequence[_Exclusion], ctx: _Doc
) -> dict[int, list[_Hit]]:
    out = hits
    for ex in exclusions:
        targets = [pid for pid in ex.targets if pid in out]
        if not targets:
            continue
        context = [h for pid in ex.context for h in out.get(pid, ())]
        if not context:
            continue
        if out is hits:
            out = dict(hits)
        for pid in targets:
            kept = [h for h in out[pid] if not _cancelled(h, context, ex.near, ctx)]
            if kept:
                out[pid] = kept
            else:
                del out[pid]
    return out


def _cancelled(hit: _Hit, context: Sequence[_Hit], near: int | str | None, ctx: _Doc) -> bool:
    for c in context:
        if c is hit or c.field != hit.field:
            continue
        if near is None:
            if c.start < hit.end and hit.start < c.end:
                return True
        elif ctx.close(hit, c, near):
            return True
    return False


def _eval(node: _Leaf | _Bag | _Node, hits: dict[int, list[_Hit]], ctx: _Doc) -> _Found | None:
    if isinstance(node, _Bag):
        bag = node.leaves
        common = bag.keys() & hits.keys()
        if not common:
            return None
        if len(common) == 1:
            (pid,) = common
            return [(h, leaf) for leaf in bag[pid] for h in hits[pid]]
        if len(hits) < len(bag):
            found = [(h, leaf) for pid, hs in hits.items() if pid in bag for leaf in bag[pid] for h in hs]
        else:
            found = [
                (h, leaf) for pid, leaves in bag.items() if pid in hits for leaf in leaves for h in hits[pid]
            ]
        return found or None
    if isinstance(node, _Leaf):
        found = [(h, node) for pid in node.pids for h in hits.get(pid, ())]
        return found or None
    if node.op == "any":
        out: _Found = []
        count = 0
        for child in node.children:
            got = _eval(child, hits, ctx)
            if got:
                out.extend(got)
                count += 1
        return out if count >= node.min else None
    if node.op == "none":
        return None if any(_eval(child, hits, ctx) for child in node.children) else []
    # all
    parts: list[_Found] = []
    negatives: list[_Found] = []
    for child in node.children:
        if isinstance(child, _Node) and child.op == "none":
            absent = [f for c in child.children if (f := _eval(c, hits, ctx))]
            if node.near is None and absent:
                return None
            negatives.extend(absent)
            continue
        got = _eval(child, hits, ctx)
        if not got:
            return None
        parts.append(got)
    if node.near is None:
        return [pair for part in parts for pair in part]
    return _near(parts, negatives, node.near, ctx)


def _near(parts: list[_Found], negatives: list[_Found], near: int | str, ctx: _Doc) -> _Found | None:
    if near == "sentence":
        return _near_sentence(parts, negatives, ctx)
    out: _Found = []
    for anchor in parts[0]:
        a = anchor[0]
        if any(ctx.close(a, n[0], near) for neg in negatives for n in neg):
            continue
        support: _Found = []
        for part in parts[1:]:
            close = [pair for pair in part if ctx.close(a, pair[0], near)]
            if not close:
                break
            support.extend(close)
        else:
            out.append(anchor)
            out.extend(support)
    return out or None


def _near_sentence(parts: list[_Found], negatives: list[_Found], ctx: _Doc) -> _Found | None:
    """``_near`` for ``near: sentence``: the other parts grouped by sentence, in their own order."""
    fields = {pair[0].field for pair in parts[0]}  # a hit in another field is close to no anchor
    key = ctx.sentence_key
    vetoed = {key(n[0]) for neg in negatives for n in neg if n[0].field in fields}
    # Each part grouped by sentence when first needed (as in _near, later parts may never be looked at).
    groups: list[dict[tuple[int, int], _Found] | None] = [None] * (len(parts) - 1)
    out: _Found = []
    for anchor in parts[0]:
        k = key(anchor[0])
        if k in vetoed:
            continue
        support: _Found = []
        for g, part in enumerate(parts[1:]):
            group = groups[g]
            if group is None:
                group = groups[g] = {}
                for pair in part:
                    if pair[0].field in fields:
                        group.setdefault(key(pair[0]), []).append(pair)
            close = group.get(k)
            if not close:
                break
            support.extend(close)
        else:
            out.append(anchor)
            out.extend(support)
    return out or None


class _Compiler:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.patterns: list[_Pattern] = []
        self.index: dict[tuple[str, bool, bool], int] = {}
        self.entity_pids: dict[str, tuple[int, ...]] = {}

    def pattern(self, text: str, prefix: bool, case_sensitive: bool, label: str, path: str) -> int:
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

    def alias(self, alias: str, path: str) -> int:
        prefix = alias.endswith("*")
        body = alias[:-1].rstrip() if prefix else alias
        letters = [c for c in body if c.isalpha()]
        case = len(letters) >= 2 and all(c.isupper() for c in letters) and not any(is_cjk(c) for c in body)
        return self.pattern(body, prefix, case, body, path)

    def entity(self, entity_id: str, path: str) -> tuple[int, ...]:
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

    def term(self, term: Term, path: str) -> _Leaf:
        if term.entity:
            return _Leaf(self.entity(term.entity, path), term.weight, None, term.entity)
        pid = self.pattern(term.text, term.prefix, term.case_sensitive, term.text, path)
        return _Leaf((pid,), term.weight, term.text + ("*" if term.prefix else ""), None)

    def node(self, item: Term | Group, path: str) -> _Leaf | _Bag | _Node:
        if isinstance(item, Term):
            return self.term(item, path)
        children = tuple(self.node(child, path) for child in item.items)
        if item.op == "any" and item.min == 1 and all(isinstance(c, _Leaf | _Bag) for c in children):
            leaves: dict[int, list[_Leaf]] = {}
            for child in children:
                pairs = (
                    [(pid, child) for pid in child.pids]
                    if isinstance(child, _Leaf)
                    else [(pid, leaf) for pid, ls in child.leaves.items() for leaf in ls]
                )
                for pid, leaf in pairs:
                    if leaf not in leaves.setdefault(pid, []):
                        leaves[pid].append(leaf)
            return _Bag({pid: tuple(ls) for pid, ls in leaves.items()})
        return _Node(item.op, children, item.near, item.min)

    def exclusion(self, ex: Exclusion) -> _Exclusion:
        targets = frozenset(pid for t in ex.terms for pid in self.term(t, ex.path).pids)
        context = tuple(dict.fromkeys(pid for t in ex.context for pid in self.term(t, ex.path).pids))
        return _Exclusion(targets, context, ex.near)

    def watchlist(self, spec: WatchlistSpec) -> _Watchlist:
        rules = tuple((r.name, r.weight, self.node(r.group, r.path)) for r in spec.rules)
        exclusions = tuple(self.exclusion(ex) for ex in spec.exclude)
        veto = tuple(self.node(g, f"{spec.path}.none") for g in spec.veto)
        return _Watchlist(spec, rules, exclusions, veto)  # type: ignore[arg-type]

    def entity_exclusions(self) -> list[_Exclusion]:
        out = []
        for entity_id, pids in self.entity_pids.items():
            entity = self.gazetteer.get(entity_id)
            if entity and entity.exclude:
                context = tuple(
                    self.pattern(e, False, False, e, f"gazetteer {entity_id}.exclude") for e in entity.exclude
                )
                out.append(_Exclusion(frozenset(pids), context, None))
        return out


def compile_matcher(watchlists: Sequence[WatchlistSpec], gazetteer: Gazetteer) -> Matcher:
    """Compile watchlists into one matcher (automata over every term and alias).

    Args:
        watchlists: validated watchlists, from ``alerts.watchlist.parse_watchlists``.
        gazetteer: entities that ``@id`` terms refer to, from ``alerts.gazetteer.load_gazetteer``.

    Returns:
        A read-only matcher, safe to share between threads.

    Raises:
        WatchlistError: a watchlist refers to an unknown entity; ``path`` names the rule.
    """
    compiler = _Compiler(gazetteer)
    compiled = [compiler.watchlist(spec) for spec in watchlists]
    entity_exclusions = compiler.entity_exclusions()
    by_key: dict[str, list[tuple[int, int, bool, bool, bool, str]]] = {}
    for pid, p in enumerate(compiler.patterns):
        by_key.setdefault(p.key, []).append((pid, len(p.key), p.left, p.right, p.case_sensitive, p.cased))
    ascii_keys = [key for key in by_key if key.isascii()]
    other_keys = [key for key in by_key if not key.isascii()]
    automata = (_automaton(ascii_keys, by_key), _automaton(other_keys, by_key))
    other_chars = frozenset(ch for key in other_keys for ch in key if not ch.isascii())
    logger.info("compiled %d watchlists: %d patterns", len(compiled), len(compiler.patterns))
    return Matcher(compiler.patterns, automata, other_chars, compiled, entity_exclusions)


def _automaton(
    keys: list[str], by_key: dict[str, list[tuple[int, int, bool, bool, bool, str]]]
) -> ahocorasick.Automaton | None:
    """One automaton over ``keys``, or None without keys."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key in keys:
        automaton.add_word(key, tuple(by_key[key]))
    automaton.make_automaton()
    return automaton
