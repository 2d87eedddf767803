"""The watchlist language: parse and validate the config's ``watchlists`` into frozen values.

A watchlist is a name, delivery targets, a score threshold, optional field weights, named term sets,
rules and exclusions. docs/watchlists.md is the user's reference; in short::

    - name: maritime-disputes
      targets:
        - slack-analysts                      # immediate alerts
        - {target: email-analysts, digest: daily, at: "08:00", timezone: Asia/Manila}
      min_outlets: 2                          # optional: alert once two outlets carry the story
      threshold: 2.0
      fields: {title: 2.0, lead: 1.5, body: 1.0}
      sets:
        incident: ["water cannon^2", rammed, collision*, blockade*]
      rules:
        - name: feature
          weight: 2
          any: ["@spratly-islands", "@senkaku"]
        - name: scs-incident
          all: ["@south-china-sea", $incident]
          near: sentence
      exclude:
        - terms: [arms]
          context: [leg*, shoulder*]
          near: 3
      none: ["Joe Scarborough"]

Terms: ``word``, ``a phrase``, ``prefix*``, ``ACRONYM`` (capitals only: case-sensitive), ``@entity``,
``$set``; a ``^2`` suffix gives a weight. Groups: ``any`` (optionally ``min``), ``all`` (optionally
``near: N`` or ``near: sentence``), ``none``.

Two layers, each validated once: the structure of a watchlist (name, threshold, fields, min_outlets...)
is the pydantic `WatchlistModel`; the language inside ``sets``, ``rules``, ``exclude`` and ``none`` is
parsed by the code below (its checks depend on order: a set must be defined before it is used). A
target is a name or a route mapping ``{target, digest, at, timezone, min_outlets}``: that is delivery's
structure, parsed by ``alerts.delivery.routes``; here only the target names are kept. Every problem is
a `WatchlistError` whose ``loc`` is a tuple key path, e.g. ``("watchlists", 0, "rules", 2, "any", 1)``.

Settings read: ``watchlists`` (passed in as the list of mappings loaded from YAML).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from alerts.errors import Loc, WatchlistError
from alerts.match.gazetteer import ENTITY_TYPES
from alerts.match.normalize import normalize_term
from alerts.match.watchlist_model import (
    _NAME,
    _WATCHLIST_KEYS,
    DEFAULT_FIELD_WEIGHTS,
    FIELDS,
    WatchlistModel,
    check_positive,
    model_errors,
    target_names,
)

logger = logging.getLogger(__name__)

# FIELDS and DEFAULT_FIELD_WEIGHTS are declared with the watchlist model; rules_eval and the matcher read them here.
__all__ = ["DEFAULT_FIELD_WEIGHTS", "FIELDS", "MAX_RULE_DEPTH", "TYPE_REFERENCE", "Exclusion", "Group", "Near",
           "Rule", "Term", "WatchlistSpec", "entity_references", "entity_type", "parse_term", "parse_watchlist",
           "parse_watchlists"]

Near = int | Literal["sentence"] | None

_WEIGHT = re.compile(r"\^(-?\d+(?:\.\d+)?)$")
_ENTITY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# ``@type:state``: every gazetteer entity of a type (see ``entity_type``).
TYPE_REFERENCE = "type:"
_RULE_KEYS = ("name", "weight", "any", "all", "none", "near", "min", "other-than-maker", "maker-only")
_GROUP_KEYS = ("any", "all", "none", "near", "min", "other-than-maker", "maker-only")
_EXCLUDE_KEYS = ("terms", "context", "near")
_TERM_KEYS = ("term", "weight", "case")
_OPS: tuple[Literal["any", "all", "none"], ...] = ("any", "all", "none")
MAX_RULE_DEPTH = 10  # nested any/all/none groups (sets count as a level); real rules use 2 or 3

@dataclass(frozen=True, slots=True)
class Term:
    """A leaf of a rule: a word, phrase, prefix or entity reference.

    Attributes:
        text: as written, without ``@``, ``*`` or ``^weight`` (shown in explanations).
        weight: multiplies the field weight of a hit of this term.
        prefix: ``text*`` form: the last word may continue (``militar*`` finds "military").
        case_sensitive: matched in exact case (default for terms written in capitals only).
        entity: gazetteer id for ``@id`` terms, ``type:NAME`` for ``@type:NAME``; ``text`` is then the same.
        before: for ``words @id``: the words that must come right before the entity's alias ("in" in
            ``"in @type:state"``), matched as one phrase with each alias.
        after: for ``@id words``: the words that must come right after it ("designed" in
            ``"@type:state designed"``: "Chinese-designed").
    """

    text: str
    weight: float = 1.0
    prefix: bool = False
    case_sensitive: bool = False
    entity: str | None = None
    before: str = ""
    after: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """``any`` / ``all`` / ``none`` of its items.

    Attributes:
        op: ``any``, ``all`` or ``none``.
        items: terms and nested groups.
        near: for ``all``: every item within ``near`` words of the first item, or in the same sentence.
        min: for ``any``: how many different items must be found (default 1).
        other_than_maker: for ``all``: the first item names weapon systems, and the states its other items
            name count only when they are not the system's maker (the gazetteer's ``made_in``): "Egypt fields
            Chinese HQ-9B" holds, "China shows its HQ-9B" does not. The maker is world knowledge a list of
            words cannot hold, and who holds a system made elsewhere is what an arms transfer leaves behind.
        maker_only: for ``all``, the converse: a system with a maker is found and no state the other items
            name is another state than the maker of a system found ("Japan's Taigei-class Jingei
            commissioned" holds, "Egypt fields Chinese HQ-9B" does not). A state's own system at home is
            the news of its programme (a launch, a commissioning), which a transfer rule can set aside.
    """

    op: Literal["any", "all", "none"]
    items: tuple[Term | Group, ...]
    near: Near = None
    min: int = 1
    other_than_maker: bool = False
    maker_only: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A named group with a weight; a satisfied rule adds ``weight`` x its best hit to the score."""

    name: str
    group: Group
    weight: float = 1.0
    path: Loc = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Hits of ``terms`` are cancelled when a ``context`` term overlaps them (or is ``near`` them)."""

    terms: tuple[Term, ...]
    context: tuple[Term, ...]
    near: Near = None
    path: Loc = ()


@dataclass(frozen=True, slots=True)
class WatchlistSpec:
    """One validated watchlist.

    Attributes:
        name: unique name, used in alerts and on the command line.
        targets: names of delivery targets (checked by the scheduler against ``targets``); how each
            is alerted (at once or in a digest) is delivery's business (``alerts.delivery.routes``).
        threshold: the score a document needs to match.
        rules: rules in config order.
        exclude: hit-level exclusions.
        veto: a document in which any of these groups is satisfied never matches.
        field_weights: weights of a hit in the title, lead and body.
        description: free text for people.
        path: where in the config it came from, e.g. ``("watchlists", 0)``.
        min_outlets: a story alerts once this many different outlets reported it (default 1).
    """

    name: str
    targets: tuple[str, ...]
    threshold: float
    rules: tuple[Rule, ...]
    exclude: tuple[Exclusion, ...] = ()
    veto: tuple[Group, ...] = ()
    field_weights: tuple[float, float, float] = DEFAULT_FIELD_WEIGHTS
    description: str = ""
    path: Loc = ()
    min_outlets: int = 1


def _number(value: Any, path: Loc, what: str, *, minimum: float = 0.0) -> float:
    try:
        return check_positive(value, what, minimum)
    except ValueError as exc:
        raise WatchlistError(str(exc), path) from None


def _check_keys(raw: Mapping[str, Any], allowed: Sequence[str], path: Loc, what: str) -> None:
    for key in raw:
        if key not in allowed:
            raise WatchlistError(
                f"unknown key {key!r} in {what}; allowed keys: {', '.join(allowed)}", (*path, key)
            )


def entity_type(entity: str) -> str | None:
    """The type named by an ``@type:NAME`` reference (``entity`` without the ``@``), or None for an id.

    Why: "any state" is a concept the rules need ("to build drones in Italy"), and listing a hundred
    ``@id`` terms in every watchlist that needs it would copy the gazetteer into the config; a state
    added to the gazetteer then joins every rule that names the type.
    """
    return entity[len(TYPE_REFERENCE):] if entity.startswith(TYPE_REFERENCE) else None


def parse_term(raw: Any, path: Loc) -> Term:
    """Parse one term: a string in the term syntax or a ``{term, weight, case}`` mapping.

    Args:
        raw: ``"water cannon^2"``, ``"militar*"``, ``"PLA"``, ``"@senkaku"``, ``"@type:state"`` or a mapping.
        path: config path for error messages.

    Returns:
        The term.

    Raises:
        WatchlistError: empty term, bad weight, misplaced ``*``, bad entity id.
    """
    weight = 1.0
    case: bool | None = None
    if isinstance(raw, Mapping):
        _check_keys(raw, _TERM_KEYS, path, "a term")
        if "term" not in raw:
            raise WatchlistError("a term mapping needs 'term', e.g. {term: FMS, weight: 2}", path)
        if "weight" in raw:
            weight = _number(raw["weight"], (*path, "weight"), "weight")
        if "case" in raw:
            if not isinstance(raw["case"], bool):
                raise WatchlistError("case must be true (exact case) or false", (*path, "case"))
            case = raw["case"]
        text = raw["term"]
        path = (*path, "term")
    else:
        text = raw
    if not isinstance(text, str):
        raise WatchlistError(f"a term must be a string, got {text!r}", path)
    text = text.strip()
    m = _WEIGHT.search(text)
    if m:
        weight = _number(float(m.group(1)), path, f"weight of {text!r}")
        text = text[: m.start()].strip()
    split = _split_phrase(text)
    if split is not None:
        return _phrase_with_entity(text, split, weight, path)
    if text.startswith("@"):
        entity = _checked_reference(text, text[1:], path, "")
        return Term(entity, weight, entity=entity)
    if text.startswith("$"):
        raise WatchlistError(f"set reference {text!r} is not allowed here; list the terms", path)
    prefix = text.endswith("*")
    body = text[:-1].rstrip() if prefix else text
    if "*" in body:
        raise WatchlistError(f"'*' may only end a term (prefix match), as in militar*; got {text!r}", path)
    if not normalize_term(body):
        raise WatchlistError(f"empty term {raw!r}; write a word or phrase", path)
    letters = [c for c in body if c.isalpha()]
    auto_case = len(letters) >= 2 and all(c.isupper() for c in letters)
    return Term(body, weight, prefix, auto_case if case is None else case)


def _split_phrase(text: str) -> tuple[str, str, str] | None:
    """``words @id`` or ``@id words`` as (words before, reference, words after); None for other terms."""
    if text.startswith("@") and " " in text:
        reference, _, after = text[1:].partition(" ")
        return "", reference, after.strip()
    if " @" in text and not text.startswith("$"):
        before, _, reference = text.partition(" @")
        return before.strip(), reference, ""
    return None


def _checked_reference(text: str, reference: str, path: Loc, hint: str) -> str:
    """``reference`` (an entity id or ``type:NAME``, without the ``@``) if well formed; else a clear error."""
    kind = entity_type(reference)
    if kind is not None and kind not in ENTITY_TYPES:
        types = ", ".join(sorted(ENTITY_TYPES))
        raise WatchlistError(f"{text!r}: no entity type {kind!r}; the types are {types}", path)
    if kind is None and not _ENTITY.match(reference):
        raise WatchlistError(
            f"{text!r} is not an entity reference; write @ followed by a gazetteer id such as @senkaku{hint}", path
        )
    return reference


def _phrase_with_entity(text: str, split: tuple[str, str, str], weight: float, path: Loc) -> Term:
    """``words @id`` or ``@id words`` (``@type:NAME`` too): words right before or after any alias of it.

    Why: "to build drones in Italy" needs "in" right before a state. As two terms, "in" would be a hit
    in every sentence of every article, each one costing the matcher a hit to keep and a word position
    to work out; as phrases ("in Italy", "in Italian"...) the automaton finds only the few that occur.
    """
    before, reference, after = split
    words = before or after
    if any(c in words for c in "*$@") or not normalize_term(words):
        raise WatchlistError(
            f"{text!r}: write plain words before or after one entity, as in \"in @type:state\"", path
        )
    hint = " (or @type:NAME), with plain words before or after it if needed, as in \"in @type:state\""
    _checked_reference(text, reference, path, hint)
    return Term(text, weight, entity=reference, before=before, after=after)


class _AlreadyReported(WatchlistError):
    """A watchlist left out because of problems already appended to the caller's list."""


def _group_depth(items: Sequence[Term | Group], depths: dict[int, int]) -> int:
    """Levels of a group made of `items`: one more than its deepest child group (children are known)."""
    return 1 + max((depths.get(id(item), 1) for item in items if isinstance(item, Group)), default=0)


class _Parser:
    def __init__(self, sets: Mapping[str, tuple[Term | Group, ...]],
                 depths: tuple[dict[int, int], list[Group]] | None = None) -> None:
        self.sets = sets
        # id(group) -> its nesting depth, shared by the parsers of one watchlist (sets, then rules);
        # `_keep` holds every group so that no id is reused while the watchlist is parsed.
        self.depths, self._keep = ({}, []) if depths is None else depths

    def _made(self, group: Group, path: Loc) -> Group:
        depth = _group_depth(group.items, self.depths)
        if depth > MAX_RULE_DEPTH:
            raise WatchlistError(
                f"groups (any/all/none, and $sets) nest {depth} levels deep here; the limit is "
                f"{MAX_RULE_DEPTH} levels: split the rule into several rules or use sets", path)
        self.depths[id(group)] = depth
        self._keep.append(group)  # ids stay unique while the parser lives
        return group

    def items(self, raw: Any, path: Loc, splice: bool = False) -> list[Term | Group]:
        if isinstance(raw, str | Mapping):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            raise WatchlistError("must be a non-empty list of terms or groups", path)
        out: list[Term | Group] = []
        for i, item in enumerate(raw):
            ipath = (*path, i)
            if isinstance(item, str) and item.strip().startswith("$"):
                name = item.strip()[1:]
                if name not in self.sets:
                    known = ", ".join(f"${s}" for s in self.sets) or "none defined"
                    raise WatchlistError(
                        f"unknown set {item!r}; define it under 'sets' (known: {known})", ipath
                    )
                if splice:
                    out.extend(self.sets[name])
                else:
                    out.append(self._made(Group("any", self.sets[name]), ipath))
            elif isinstance(item, Mapping) and any(op in item for op in _OPS):
                out.append(self.group(item, ipath, _GROUP_KEYS))
            else:
                out.append(parse_term(item, ipath))
        return out

    def group(self, raw: Mapping[str, Any], path: Loc, keys: Sequence[str]) -> Group:
        _check_keys(raw, keys, path, "a rule" if "name" in keys else "a group")
        ops = [op for op in _OPS if op in raw]
        if len(ops) != 1:
            raise WatchlistError(
                "needs exactly one of any, all, none" + (f" (found {', '.join(ops)})" if ops else ""), path
            )
        op = ops[0]
        # In an ``any`` that counts (``min``), a set's members are the group's items: "two different
        # states" is ``any: [$coastal-state], min: 2``, and the list of states is written once.
        items = tuple(self.items(raw[op], (*path, op), splice=op == "any" and "min" in raw))
        near: Near = None
        if "near" in raw:
            value = raw["near"]
            if op != "all":
                raise WatchlistError(f"near applies to 'all' groups, not '{op}'", (*path, "near"))
            if value == "sentence":
                near = "sentence"
            elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                near = value
            else:
                raise WatchlistError(
                    f"near must be a number of words (1 or more) or 'sentence', got {value!r}", (*path, "near")
                )
            if len(items) < 2:
                raise WatchlistError("a 'near' group needs at least two items", (*path, "all"))
            if isinstance(items[0], Group) and items[0].op == "none":
                raise WatchlistError(
                    "the first item of a 'near' group must be a term or any/all group", (*path, "all", 0)
                )
        minimum = 1
        if "min" in raw:
            value = raw["min"]
            if op != "any":
                raise WatchlistError(f"min applies to 'any' groups, not '{op}'", (*path, "min"))
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= len(items):
                raise WatchlistError(
                    f"min must be a whole number from 1 to {len(items)}, got {value!r}", (*path, "min")
                )
            minimum = value
        if op == "all" and all(isinstance(i, Group) and i.op == "none" for i in items):
            raise WatchlistError("an 'all' group needs at least one item that is not 'none'", (*path, "all"))
        maker = {key: self._maker_key(raw, key, op, items, path) for key in ("other-than-maker", "maker-only")}
        if maker["other-than-maker"] and maker["maker-only"]:
            raise WatchlistError("a group is either other-than-maker or maker-only, not both", (*path, "maker-only"))
        return self._made(Group(op, items, near, minimum, maker["other-than-maker"], maker["maker-only"]), path)

    @staticmethod
    def _maker_key(raw: Mapping[str, Any], key: str, op: str, items: Sequence[Term | Group], path: Loc) -> bool:
        """The value of ``other-than-maker`` or ``maker-only`` in ``raw`` (false when absent), checked."""
        if key not in raw:
            return False
        value = raw[key]
        if op != "all":
            raise WatchlistError(f"{key} applies to 'all' groups, not '{op}'", (*path, key))
        if not isinstance(value, bool):
            raise WatchlistError(f"{key} must be true or false, got {value!r}", (*path, key))
        if value and (len(items) < 2 or (isinstance(items[0], Group) and items[0].op == "none")):
            raise WatchlistError(f"{key} needs weapon systems as the first item and states after it", (*path, "all"))
        return value


def _parse_sets(raw: Any, path: Loc,
                depths: tuple[dict[int, int], list[Group]]) -> dict[str, tuple[Term | Group, ...]]:
    if not isinstance(raw, Mapping):
        raise WatchlistError("sets must be a mapping of set name to a list of terms", path)
    sets: dict[str, tuple[Term | Group, ...]] = {}
    for name, terms in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise WatchlistError(
                f"set name {name!r} must be letters, digits, '-', '_' or '.'", (*path, name)
            )
        # A set may use sets defined before it.
        sets[name] = tuple(_Parser(sets, depths).items(terms, (*path, name)))
    return sets


def _parse_exclusion(raw: Any, path: Loc, parser: _Parser) -> Exclusion:
    if not isinstance(raw, Mapping):
        raise WatchlistError("an exclusion is a mapping with 'terms', 'context' and optional 'near'", path)
    _check_keys(raw, _EXCLUDE_KEYS, path, "an exclusion")
    for key in ("terms", "context"):
        if key not in raw:
            raise WatchlistError(
                f"an exclusion needs '{key}', e.g. {{terms: [arms], context: [legs], near: 3}}", path
            )
    terms = tuple(_flatten(parser.items(raw["terms"], (*path, "terms")), (*path, "terms")))
    context = tuple(_flatten(parser.items(raw["context"], (*path, "context")), (*path, "context")))
    near: Near = None
    if "near" in raw:
        value = raw["near"]
        if value == "sentence" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            near = value or None
        else:
            raise WatchlistError(
                f"near must be a number of words or 'sentence', got {value!r}", (*path, "near")
            )
    return Exclusion(terms, context, near, path)


def _flatten(items: Sequence[Term | Group], path: Loc) -> list[Term]:
    out: list[Term] = []
    for item in items:
        if isinstance(item, Term):
            out.append(item)
        elif item.op == "any":
            out.extend(_flatten(item.items, path))
        else:
            raise WatchlistError("only terms and $sets are allowed here, not all/none groups", path)
    return out


def _parse_rule(rule_raw: Any, rpath: Loc, i: int, parser: _Parser, name: str, rules: list[Rule]) -> Rule:
    if not isinstance(rule_raw, Mapping):
        raise WatchlistError("a rule is a mapping with name, weight and one of any/all", rpath)
    group = parser.group(rule_raw, rpath, _RULE_KEYS)
    if group.op == "none":
        raise WatchlistError(
            "a rule cannot be only 'none' (nothing to score); put it in the "
            "watchlist's 'none' list or inside an 'all'",
            (*rpath, "none"),
        )
    rule_name = rule_raw.get("name", f"rule-{i + 1}")
    if not isinstance(rule_name, str) or not _NAME.match(rule_name):
        raise WatchlistError(
            f"rule name {rule_name!r} must be letters, digits, '-', '_' or '.'", (*rpath, "name")
        )
    if any(r.name == rule_name for r in rules):
        raise WatchlistError(
            f"rule name {rule_name!r} is used twice in watchlist {name!r}", (*rpath, "name")
        )
    weight = _number(rule_raw.get("weight", 1.0), (*rpath, "weight"), "weight")
    return Rule(rule_name, group, weight, rpath)


def parse_watchlist(raw: Any, path: Loc, errors: list[WatchlistError] | None = None) -> WatchlistSpec:
    """Validate one watchlist: its structure with `WatchlistModel`, its rules with the language parser.

    Args:
        raw: the watchlist mapping as loaded from YAML.
        path: its key path, e.g. ``("watchlists", 0)``.
        errors: when given, each invalid rule is appended here and the others are still parsed.

    Returns:
        The watchlist.

    Raises:
        WatchlistError: the first structural problem (or, without ``errors``, the first problem).
    """
    if not isinstance(raw, Mapping):
        raise WatchlistError("a watchlist must be a mapping with name, targets and rules", path)
    try:
        model = WatchlistModel.model_validate(raw)
    except ValidationError as exc:
        first = model_errors(exc, path, _WATCHLIST_KEYS)[0]
        if first.loc == (*path, "name") and "name" not in raw:
            raise WatchlistError(
                "name None must be letters, digits, '-', '_' or '.', e.g. arms-deals", first.loc) from None
        raise first from None
    name = model.name
    fields = (model.fields.title, model.fields.lead, model.fields.body)
    depths: tuple[dict[int, int], list[Group]] = ({}, [])
    sets = _parse_sets(model.sets, (*path, "sets"), depths) if "sets" in raw else {}
    parser = _Parser(sets, depths)
    rules_raw = model.rules
    if not isinstance(rules_raw, list) or not rules_raw:
        raise WatchlistError(
            "rules must be a non-empty list, e.g. [{name: r1, any: [term]}]", (*path, "rules")
        )
    rules: list[Rule] = []
    failed = 0
    for i, rule_raw in enumerate(rules_raw):
        rpath = (*path, "rules", i)
        try:
            rules.append(_parse_rule(rule_raw, rpath, i, parser, name, rules))
        except WatchlistError as exc:
            if errors is None:
                raise
            errors.append(exc)
            failed += 1
    if failed:
        raise _AlreadyReported(f"{failed} rule(s) of watchlist {name!r} are invalid", (*path, "rules"))
    exclude_raw = [] if model.exclude is None else model.exclude
    if not isinstance(exclude_raw, list):
        raise WatchlistError("exclude must be a list of {terms, context, near}", (*path, "exclude"))
    exclude = tuple(_parse_exclusion(e, (*path, "exclude", i), parser) for i, e in enumerate(exclude_raw))
    veto: tuple[Group, ...] = ()
    if "none" in raw:
        veto = tuple(Group("any", (item,)) for item in parser.items(model.none, (*path, "none")))
    return WatchlistSpec(name, target_names(model.targets), model.threshold, tuple(rules), exclude, veto, fields,
                         model.description, path, model.min_outlets)


def parse_watchlists(raw: Sequence[Mapping[str, Any]],
                     errors: list[WatchlistError] | None = None) -> list[WatchlistSpec]:
    """Validate the config's ``watchlists`` list.

    Args:
        raw: the list of watchlist mappings as loaded from YAML.
        errors: when given, every problem is appended here (one per invalid rule, or per watchlist
            when the problem is outside its rules) and parsing goes on; invalid watchlists are left out.

    Returns:
        The watchlists, in config order.

    Raises:
        WatchlistError: the first problem found (when ``errors`` is None); ``loc`` points at it, e.g.
            ``("watchlists", 1, "rules", 0, "near")``, and the message says how to fix it.
    """
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise WatchlistError("watchlists must be a list", ("watchlists",))
    specs: list[WatchlistSpec] = []
    for i, item in enumerate(raw):
        try:
            spec = parse_watchlist(item, ("watchlists", i), errors)
        except WatchlistError as exc:
            if errors is None:
                raise
            if not isinstance(exc, _AlreadyReported):
                errors.append(exc)
            continue
        if any(s.name == spec.name for s in specs):
            twice = WatchlistError(f"watchlist name {spec.name!r} is used twice", ("watchlists", i, "name"))
            if errors is None:
                raise twice
            errors.append(twice)
            continue
        specs.append(spec)
    logger.debug("parsed %d watchlists", len(specs))
    return specs


def entity_references(raw: Any, path: Loc = ("watchlists",)) -> list[tuple[Loc, str]]:
    """Every ``@entity`` term written in the config's watchlists, with the key path of the term itself.

    Args:
        raw: the ``watchlists`` list as loaded from YAML (unvalidated; anything else yields nothing).
        path: the key path of ``raw``.

    Returns:
        ``(path, entity id)`` pairs, e.g. ``(("watchlists", 0, "rules", 1, "all", 0), "senkaku")``, in
        file order.
    """
    found: list[tuple[Loc, str]] = []
    stack: list[tuple[Any, Loc]] = [(raw, path)]
    while stack:  # iterative: the depth of the data is bounded by the YAML loader, but need not be trusted
        value, where = stack.pop()
        if isinstance(value, str):
            text = _WEIGHT.sub("", value.strip()).strip()
            split = _split_phrase(text)
            if split is not None:
                text = "@" + split[1]  # ``words @id`` or ``@id words``: the entity it names
            if text.startswith("@") and _ENTITY.match(text[1:]):
                found.append((where, text[1:]))
        elif isinstance(value, Mapping):
            for key, item in reversed(list(value.items())):
                if key in ("name", "targets", "description", "threshold", "fields", "weight", "case", "near", "min"):
                    continue
                stack.append((item, (*where, key)))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], (*where, index)))
    return found
