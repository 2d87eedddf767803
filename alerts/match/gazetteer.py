"""The gazetteer: named entities (states, disputed features, seas, forces, weapons, firms) and aliases.

The shipped entities live in ``alerts/match/data/gazetteer.yaml``; the ``gazetteer:`` key of config.yaml adds
entities or extra aliases for shipped ones, in the same format. Watchlists refer to an entity as
``@id`` and then match any of its aliases, in any language or script (see ``alerts.match.normalize``).

An entry::

    - id: senkaku                      # lower case, digits and hyphens
      type: disputed_feature           # one of ENTITY_TYPES
      name: Senkaku Islands            # shown in explanations
      aliases:                         # a list, or a mapping language -> list
        en: [Senkaku Islands, Senkakus, Diaoyu Islands, Diaoyu]
        zh: [钓鱼岛, 釣魚臺]
        ja: [尖閣諸島]
      exclude: [Joe Scarborough]       # optional: phrases that cancel an alias found inside them
                                       # (case-blind; a trailing * is a prefix: Scarborough gas*)

A weapon system whose name is also an ordinary word, a surname or a mountain (Patriot, Abrams, K2) lists it under
``trade_names: [Patriot]``: the name then counts only with a trade noun right after it ("Patriot deliveries",
"K2 contract"), each of ``TRADE_NOUNS``. Why: headlines name such a system bare beside the deal ("Swiss Patriot
deliveries delayed"), while the bare word is a patriot, a general or a mountain; one list of nouns for every
such name keeps the gazetteer one line per system, not eleven.

A weapon system may name the state that makes it, ``made_in: china`` (a state's id): a rule whose group says
``other-than-maker`` then tells "Egypt fields the HQ-9B" (a system in another state's hands: an export)
from "China shows its HQ-9B" (its own).

Aliases follow the watchlist term syntax: an alias in capitals only (``PLA``) matches only in
capitals; ``name*`` matches any word beginning with ``name``.

An entry's structure is the pydantic `EntityModel` (also in the JSON Schema of the config file);
whether it may leave out ``type`` depends on the entities before it, and its aliases follow the term
syntax, so those checks are code. Problems are `WatchlistError` with a tuple key path.

Settings read: ``gazetteer`` (extra entities), passed in by the scheduler as plain dicts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from alerts.errors import Loc, WatchlistError
from alerts.match.normalize import normalize_term

logger = logging.getLogger(__name__)

ENTITY_TYPES = frozenset(
    {
        "state",
        "disputed_feature",
        "sea",
        "navy",
        "coast_guard",
        "maritime_militia",
        "weapon_system",
        "defence_company",
        "defence_agency",
        "minister",
    }
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_KEYS = frozenset({"id", "type", "name", "aliases", "exclude", "made_in", "trade_names"})
# The nouns of trade that make a name in ``trade_names`` a weapon when they follow it.
TRADE_NOUNS = ("deliver*", "order*", "contract*", "deal*", "purchase*", "package*", "batch*", "tranche*",
               "consignment*", "export*", "sale*")
EntityType = Literal["state", "disputed_feature", "sea", "navy", "coast_guard", "maritime_militia", "weapon_system",
                     "defence_company", "defence_agency", "minister"]
_STRINGS_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


class EntityModel(BaseModel):
    """The structure of one gazetteer entry; its aliases follow the term syntax and are checked by code.

    ``type`` and ``name`` may be left out when the entry adds aliases to a shipped entity.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, title="Gazetteer entity")

    id: str = Field(pattern=_ID.pattern, description="lower-case id, used in watchlists as @id")
    type: EntityType | None = Field(default=None, description="what it is; leave out to extend a shipped entity")
    name: str | None = Field(default=None, description="display name (default: the id)")
    aliases: Annotated[Any, WithJsonSchema({"anyOf": [_STRINGS_SCHEMA, {
        "type": "object", "additionalProperties": _STRINGS_SCHEMA}]})] = Field(
        default=None, description="every spelling: a list, or a mapping language -> list")
    exclude: Annotated[Any, WithJsonSchema(_STRINGS_SCHEMA)] = Field(
        default=None, description="phrases that cancel an alias found inside them")
    made_in: str | None = Field(default=None, pattern=_ID.pattern,
                                description="for a weapon system: the id of the state that makes it")
    trade_names: Annotated[Any, WithJsonSchema(_STRINGS_SCHEMA)] = Field(
        default=None, description="for a weapon system: names that are also ordinary words, counted only with "
                                  "a trade noun right after them (Patriot deliveries, K2 contract)")

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _ID.match(value):
            raise ValueError(f"id {value!r} must be lower-case letters, digits and hyphens, e.g. second-thomas-shoal")
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any, info: Any) -> Any:
        if value is not None and value not in ENTITY_TYPES:
            raise ValueError(f"type {value!r} of entity {info.data.get('id')!r} is not one of "
                             f"{', '.join(sorted(ENTITY_TYPES))}")
        return value

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("name must be a non-empty string")
        return value


@dataclass(frozen=True, slots=True)
class Entity:
    """One gazetteer entity.

    Attributes:
        id: stable identifier used in watchlists as ``@id``.
        type: one of ``ENTITY_TYPES``.
        name: display name.
        aliases: every spelling, as written (normalisation happens when the matcher compiles).
        exclude: phrases that cancel an alias hit lying inside them.
        made_in: for a weapon system, the id of the state that makes it (see ``other-than-maker``).
    """

    id: str
    type: str
    name: str
    aliases: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    made_in: str | None = None


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """All entities by id, in file order (shipped first, then config additions)."""

    entities: Mapping[str, Entity]

    def get(self, entity_id: str) -> Entity | None:
        """Return the entity with this id, or None."""
        return self.entities.get(entity_id)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.entities

    def __len__(self) -> int:
        return len(self.entities)


def _strings(value: Any, path: Loc, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise WatchlistError(f"{what} must be a list of strings, got {type(value).__name__}", path)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not normalize_term(item.rstrip("*")):
            raise WatchlistError(f"{what} must be non-empty strings, got {item!r}", (*path, i))
        out.append(item.strip())
    return out


def _aliases(value: Any, path: Loc) -> list[str]:
    if isinstance(value, Mapping):
        out: list[str] = []
        for lang, names in value.items():
            if not isinstance(lang, str) or not _LANG.match(lang):
                raise WatchlistError(
                    f"alias language {lang!r} is not a language code; use e.g. en, zh, ja, vi, fil, ko, ms",
                    (*path, lang),
                )
            out.extend(_strings(names, (*path, lang), "aliases"))
        return out
    return _strings(value, path, "aliases")


def _model(raw: Any, path: Loc) -> EntityModel:
    """The entry's structure, or the first problem with it (unknown keys first, then id, type, name)."""
    if not isinstance(raw, Mapping):
        raise WatchlistError(f"an entity must be a mapping with id, type and aliases, got {raw!r}", path)
    unknown = sorted(str(key) for key in set(raw) - _KEYS)
    if unknown:
        raise WatchlistError(f"unknown key {unknown[0]!r}; an entity has only {', '.join(sorted(_KEYS))}",
                             (*path, unknown[0]))
    try:
        return EntityModel.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        where = (*path, *error["loc"])
        if error["loc"] == ("id",):  # missing, or not matching the pattern
            raise WatchlistError(f"id {raw.get('id')!r} must be lower-case letters, digits and hyphens, e.g. "
                                 "second-thomas-shoal", where) from None
        raise WatchlistError(str(error["msg"]).removeprefix("Value error, "), where) from None


def _parse_entry(raw: Any, path: Loc, known: Mapping[str, Entity]) -> Entity:
    model = _model(raw, path)
    entity_id = model.id
    old = known.get(entity_id)
    etype = model.type if model.type is not None else old.type if old else None
    if etype not in ENTITY_TYPES:
        raise WatchlistError(
            f"type {etype!r} of entity {entity_id!r} is not one of {', '.join(sorted(ENTITY_TYPES))}",
            (*path, "type"),
        )
    if old and etype != old.type:
        raise WatchlistError(
            f"entity {entity_id!r} is already a {old.type}; drop 'type' to add aliases to it", (*path, "type")
        )
    name = model.name if model.name is not None else old.name if old else entity_id
    if "aliases" not in raw and old is None:
        raise WatchlistError(f"entity {entity_id!r} needs 'aliases' (at least one)", (*path, "aliases"))
    aliases = _aliases(raw.get("aliases", []), (*path, "aliases"))
    trade_names = _strings(raw.get("trade_names", []), (*path, "trade_names"), "trade_names")
    if trade_names and etype != "weapon_system":
        raise WatchlistError(f"trade_names are names of weapon systems; {entity_id!r} is a {etype}",
                             (*path, "trade_names"))
    aliases += [f"{name} {noun}" for name in trade_names for noun in TRADE_NOUNS]
    exclude = _strings(raw.get("exclude", []), (*path, "exclude"), "exclude")
    if old:
        aliases = list(old.aliases) + [a for a in aliases if a not in old.aliases]
        exclude = list(old.exclude) + [e for e in exclude if e not in old.exclude]
    if not aliases:
        raise WatchlistError(f"entity {entity_id!r} has no aliases", (*path, "aliases"))
    made_in = model.made_in if model.made_in is not None else old.made_in if old else None
    if made_in is not None and etype != "weapon_system":
        raise WatchlistError(f"made_in names a weapon system's maker; {entity_id!r} is a {etype}",
                             (*path, "made_in"))
    if made_in is not None and (known.get(made_in) is None or known[made_in].type != "state"):
        raise WatchlistError(f"made_in {made_in!r} of {entity_id!r} is not a state of the gazetteer; "
                             "name a state entity listed before it", (*path, "made_in"))
    return Entity(entity_id, etype, name.strip(), tuple(aliases), tuple(exclude), made_in)


def parse_gazetteer(raw: Sequence[Any], base: Gazetteer | None = None, label: str = "gazetteer",
                    errors: list[WatchlistError] | None = None) -> Gazetteer:
    """Build a gazetteer from entity dicts, on top of an existing one.

    Args:
        raw: entity mappings (see the module docstring).
        base: entities to extend; an entry with a known id adds aliases and exclusions to it.
        label: the config path prefix used in error messages.
        errors: when given, each malformed entry's problem is appended here and the entry left out.

    Returns:
        The combined gazetteer.

    Raises:
        WatchlistError: an entry is malformed (when ``errors`` is None); ``path`` is like
            ``gazetteer[3].aliases``.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise WatchlistError("must be a list of entities", (label,))
    entities: dict[str, Entity] = dict(base.entities) if base else {}
    seen: set[str] = set()
    for i, item in enumerate(raw):
        try:
            entity = _parse_entry(item, (label, i), entities)
            if entity.id in seen:
                raise WatchlistError(
                    f"entity id {entity.id!r} appears twice; merge the two entries", (label, i, "id")
                )
        except WatchlistError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        seen.add(entity.id)
        entities[entity.id] = entity
    return Gazetteer(entities)


def _shipped() -> list[Any]:
    text = resources.files("alerts.match").joinpath("data/gazetteer.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return list(data["entities"])


def load_gazetteer(extra: Sequence[Mapping[str, Any]] = (), errors: list[WatchlistError] | None = None) -> Gazetteer:
    """Load the shipped gazetteer plus entities (or extra aliases) from config.

    Args:
        extra: the config's ``gazetteer`` list, entity dicts in the data-file format.
        errors: when given, every invalid entry of ``extra`` is reported here instead of raised.

    Returns:
        The gazetteer the matcher compiles against.

    Raises:
        WatchlistError: an entry is invalid (when ``errors`` is None); ``path`` is like
            ``gazetteer[3].aliases``.
    """
    base = parse_gazetteer(_shipped(), label="alerts/match/data/gazetteer.yaml")
    gazetteer = parse_gazetteer(list(extra), base=base, errors=errors) if extra else base
    logger.debug("gazetteer loaded: %d entities (%d from config)", len(gazetteer), len(extra))
    return gazetteer
