"""The structure of a watchlist as a pydantic model, and how its validation errors read.

``alerts.match.watchlist`` parses the rule language inside a watchlist; this module declares the rest
(name, threshold, fields, min_outlets, targets as a list) once, with defaults and help text, for
validation and for the JSON Schema of the config file (``newswatch config schema``). The language
keys (``sets``, ``rules``, ``exclude``, ``none``) appear here with a descriptive schema only: the
parser checks them, in order, and says what is wrong. Messages are those users have always seen
(``threshold must be greater than 0, got 0``); `model_errors` turns pydantic's errors into
`WatchlistError` values with tuple key paths.

Settings read: ``watchlists[]`` (passed in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from alerts.errors import Loc, WatchlistError

FIELDS = ("title", "lead", "body")
DEFAULT_FIELD_WEIGHTS = (2.0, 1.5, 1.0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_count(value: Any, what: str) -> Any:
    """`value` if it is a whole number, 1 or more.

    Raises:
        ValueError: anything else (bools too), with the message users see.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a whole number, 1 or more; got {value!r}")
    return value


def check_positive(value: Any, what: str, minimum: float = 0.0) -> float:
    """`value` as a float if it is a number greater than `minimum`.

    Raises:
        ValueError: anything else (bools too), with the message users see.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if value <= minimum:
        raise ValueError(f"{what} must be greater than {minimum:g}, got {value!r}")
    return float(value)


# -- the structure of a watchlist (pydantic); the rule language below is parsed by code ------------------

# The term language, for the JSON Schema only: the parser below checks it (and says what is wrong).
_TERM_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "description": "word, phrase, prefix*, ACRONYM, @entity or $set; ^2 gives a weight"},
        {"type": "object", "description": "{term, weight, case}"},
    ]
}
_ITEMS_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "array"}, {"type": "string"}, {"type": "object"}],
                                 "description": "terms and nested {any|all|none: [...]} groups"}
_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": ("a rule: name, weight and one of any/all/none (near: N|sentence, min: N, other-than-maker, "
                    "maker-only)"),
    "properties": {"name": {"type": "string"}, "weight": {"type": "number"}, "any": _ITEMS_SCHEMA,
                   "all": _ITEMS_SCHEMA, "none": _ITEMS_SCHEMA,
                   "near": {"anyOf": [{"type": "integer"}, {"const": "sentence"}]}, "min": {"type": "integer"},
                   "other-than-maker": {"type": "boolean"}, "maker-only": {"type": "boolean"}},
}


class FieldWeights(BaseModel):
    """How much a hit counts in each part of an article."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Field weights")

    title: float = Field(default=DEFAULT_FIELD_WEIGHTS[0], ge=0, description="weight of a hit in the title")
    lead: float = Field(default=DEFAULT_FIELD_WEIGHTS[1], ge=0, description="weight of a hit in the lead (teaser)")
    body: float = Field(default=DEFAULT_FIELD_WEIGHTS[2], ge=0, description="weight of a hit in the body")

    @field_validator("title", "lead", "body", mode="before")
    @classmethod
    def _weight(cls, value: Any, info: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"weight of field {info.field_name} must be a number, 0 or more; got {value!r}")
        return value


class WatchlistModel(BaseModel):
    """The structure of one entry of ``watchlists``; ``sets``, ``rules``, ``exclude`` and ``none`` are
    written in the watchlist language (docs/watchlists.md) and parsed by `parse_watchlist`.

    ``targets`` is only checked to be a list here: a target is a name or a route mapping, which is
    delivery's structure (``alerts.delivery.routes.RouteModel``; the scheduler's file model composes it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, title="Watchlist")

    name: str = Field(pattern=_NAME.pattern, description="unique name, e.g. arms-deals")
    min_outlets: int = Field(default=1, ge=1, description="a story alerts once this many outlets reported it")
    targets: list[Any] = Field(default_factory=list, description="target names, or {target, digest, at, "
                               "timezone, min_outlets} mappings (docs/alerts.md)")
    threshold: float = Field(default=1.0, gt=0, description="the score a document needs to match")
    description: str = Field(default="", description="free text for people")
    fields: FieldWeights = Field(default_factory=FieldWeights, description="weights of a hit per field")
    sets: Annotated[Any, WithJsonSchema({"type": "object", "additionalProperties": {
        "type": "array", "items": _TERM_SCHEMA}})] = Field(
        default=None, description="named term lists, used in rules as $name")
    rules: Annotated[Any, WithJsonSchema({"type": "array", "minItems": 1, "items": _RULE_SCHEMA})] = Field(
        default=None, description="rules: each adds weight x its best hit to the score")
    exclude: Annotated[Any, WithJsonSchema({"type": "array", "items": {
        "type": "object", "description": "{terms, context, near}: hits of terms next to context do not count"}})] \
        = Field(default=None, description="hit-level exclusions")
    none: Annotated[Any, WithJsonSchema(_ITEMS_SCHEMA)] = Field(
        default=None, description="a document containing any of these never matches")

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _NAME.match(value):
            raise ValueError(f"name {value!r} must be letters, digits, '-', '_' or '.', e.g. arms-deals")
        return value

    _min_outlets = field_validator("min_outlets", mode="before")(
        classmethod(lambda cls, v: check_count(v, "min_outlets")))
    _threshold = field_validator("threshold", mode="before")(classmethod(lambda cls, v: check_positive(v, "threshold")))

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("targets must be a list of target names or {target: ...} mappings (may be empty)")
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("description must be text")
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError("fields must be a mapping such as {title: 2, lead: 1.5, body: 1}")
        return value


def model_errors(exc: ValidationError, loc: Loc, what: dict[Loc, tuple[str, Sequence[str]]]) -> list[WatchlistError]:
    """The problems of a pydantic validation as WatchlistErrors at `loc`, unknown keys first.

    Args:
        exc: the validation error.
        loc: the key path of the validated mapping.
        what: key path (relative) of each nested mapping -> (how it is called, its keys), for the
            message of an unknown key: ``unknown key 'colour' in a watchlist; allowed keys: ...``.

    Returns:
        The problems, in the order a reader checks: unknown keys, then the keys in model order.
    """
    out: list[tuple[int, WatchlistError]] = []
    for error in exc.errors(include_input=False, include_url=False):
        where: Loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and where[:-1] in what:
            name, keys = what[where[:-1]]
            message = f"unknown key {where[-1]!r} in {name}; allowed keys: {', '.join(keys)}"
        out.append((0 if error["type"] == "extra_forbidden" else 1, WatchlistError(message, (*loc, *where))))
    return [e for _, e in sorted(out, key=lambda pair: pair[0])]


_WATCHLIST_KEYS: dict[Loc, tuple[str, Sequence[str]]] = {
    (): ("a watchlist", ("name", "targets", "description", "threshold", "fields", "sets", "rules", "exclude",
                         "none", "min_outlets")),
    ("fields",): ("fields", FIELDS),
}


def target_names(targets: Sequence[Any]) -> tuple[str, ...]:
    """The target names in a watchlist's ``targets``: plain names and the ``target`` of each mapping."""
    names = (t if isinstance(t, str) else t.get("target") if isinstance(t, Mapping) else None for t in targets)
    return tuple(n for n in names if isinstance(n, str) and n)
