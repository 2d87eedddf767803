"""Routes: how a watchlist alerts each of its targets (at once or in a digest, after how many outlets).

A watchlist's ``targets`` list holds target names (immediate alerts) or mappings::

    targets:
      - slack-analysts
      - {target: email-analysts, digest: daily, at: "08:00", timezone: Asia/Manila, min_outlets: 2}

This is delivery's structure, not the watchlist language: `RouteModel` validates a mapping (the
scheduler's file model composes it into the JSON Schema), `parse_routes` turns the list into
`RouteSpec` values, and `parse_routed_watchlists` joins them to the watchlists that
``alerts.match.watchlist`` parses. Problems are `WatchlistError` with a tuple key path.
docs/alerts.md describes routes for users.

Settings read: ``watchlists[].targets`` and ``watchlists[].min_outlets`` (passed in).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from alerts.delivery.models import DigestSchedule, RouteSpec
from alerts.delivery.shaping import check_timezone, parse_clock
from alerts.errors import Loc, WatchlistError
from alerts.match.watchlist import WatchlistSpec, parse_watchlists
from alerts.match.watchlist_model import check_count, model_errors

logger = logging.getLogger(__name__)

_ROUTE_KEYS = ("target", "digest", "at", "timezone", "min_outlets")
_DIGESTS = ("hourly", "daily")


class RouteModel(BaseModel):
    """The mapping form of one of a watchlist's targets: which target, and how it is alerted."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Route")

    target: str = Field(min_length=1, description="the name of a target")
    min_outlets: int | None = Field(default=None, ge=1, description="alert once this many outlets reported "
                                    "the story (default: the watchlist's min_outlets)")
    timezone: str = Field(default="UTC", description="IANA time zone of the digest, e.g. Asia/Manila")
    digest: Literal["immediate", "hourly", "daily"] | None = Field(
        default=None, description="hourly or daily collects alerts into one digest; immediate (the default) "
        "alerts at once")
    at: Annotated[Any, WithJsonSchema({"type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$"})] = Field(
        default=None, description='daily digests: local time it goes out, "HH:MM"')

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            raise ValueError("a target mapping needs 'target', the name of a target")
        return value

    _min_outlets = field_validator("min_outlets", mode="before")(
        classmethod(lambda cls, v: check_count(v, "min_outlets")))

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"timezone must be an IANA name such as Asia/Manila, got {value!r}")
        return check_timezone(value)

    @field_validator("digest", mode="before")
    @classmethod
    def _digest(cls, value: Any) -> Any:
        if value is not None and value != "immediate" and value not in _DIGESTS:
            raise ValueError(f"digest must be hourly or daily (or immediate), got {value!r}")
        return value


TargetRef = Annotated[str | RouteModel, Field(description="a target name (immediate alerts) or a route mapping")]


def parse_route(raw: Any, path: Loc, min_outlets: int) -> RouteSpec:
    """One item of a watchlist's ``targets``: a target name, or a mapping with the target and how to alert it.

    Args:
        raw: the item as loaded from YAML.
        path: its key path, e.g. ``("watchlists", 0, "targets", 1)``.
        min_outlets: the watchlist's min_outlets (a mapping may override it).

    Returns:
        The route.

    Raises:
        WatchlistError: the first problem, at its key.
    """
    if isinstance(raw, str) and raw:
        return RouteSpec(raw, min_outlets=min_outlets)
    if not isinstance(raw, Mapping):
        raise WatchlistError(
            "a target is a name or a mapping such as {target: email-analysts, digest: daily, at: \"08:00\"}", path)
    try:
        model = RouteModel.model_validate(raw)
    except ValidationError as exc:
        first = model_errors(exc, path, {(): ("a target", _ROUTE_KEYS)})[0]
        if first.loc == (*path, "target"):
            raise WatchlistError("a target mapping needs 'target', the name of a target", first.loc) from None
        raise first from None
    if model.min_outlets is not None:
        min_outlets = model.min_outlets
    # Which keys go together depends on the digest: checked here, with the key at fault.
    if model.digest is None or model.digest == "immediate":
        for key in ("at", "timezone"):
            if key in raw:
                raise WatchlistError(f"{key} applies to digests; add digest: daily (or hourly)", (*path, key))
        return RouteSpec(model.target, min_outlets=min_outlets)
    at = None
    if model.digest == "daily":
        if "at" not in raw:
            raise WatchlistError('a daily digest needs at: "HH:MM", e.g. at: "08:00"', (*path, "at"))
        try:
            at = parse_clock(model.at)
        except ValueError as exc:
            raise WatchlistError(str(exc), (*path, "at")) from None
    elif "at" in raw:
        raise WatchlistError("at applies to daily digests; hourly digests go out on the hour", (*path, "at"))
    return RouteSpec(model.target, DigestSchedule(model.digest, at, model.timezone), min_outlets)


def parse_routes(raw: Any, path: Loc, min_outlets: int = 1) -> tuple[RouteSpec, ...]:
    """The routes of a watchlist's ``targets`` list, in order, one per target.

    Raises:
        WatchlistError: not a list, a bad item, or a target listed twice.
    """
    if not isinstance(raw, list):
        raise WatchlistError("targets must be a list of target names or {target: ...} mappings (may be empty)",
                             path)
    routes: list[RouteSpec] = []
    for i, item in enumerate(raw):
        route = parse_route(item, (*path, i), min_outlets)
        if any(r.target == route.target for r in routes):
            raise WatchlistError(f"target {route.target!r} is listed twice", (*path, i))
        routes.append(route)
    return tuple(routes)


@dataclass(frozen=True, slots=True)
class RoutedWatchlist:
    """A watchlist and the routes to its targets, in ``targets`` order."""

    spec: WatchlistSpec
    routes: tuple[RouteSpec, ...]

    @property
    def name(self) -> str:
        """The watchlist's name."""
        return self.spec.name

    @property
    def targets(self) -> tuple[str, ...]:
        """The names of its targets."""
        return self.spec.targets

    @property
    def min_outlets(self) -> int:
        """The watchlist's default min_outlets."""
        return self.spec.min_outlets

    def route_specs(self) -> tuple[RouteSpec, ...]:
        """The routes of this watchlist, one per target (plain names are immediate routes)."""
        return self.routes


def parse_routed_watchlists(raw: Sequence[Mapping[str, Any]],
                            errors: list[WatchlistError] | None = None) -> list[RoutedWatchlist]:
    """Validate the config's ``watchlists``: each watchlist (``alerts.match``) and the routes to its targets.

    Args:
        raw: the list of watchlist mappings as loaded from YAML.
        errors: when given, every problem is appended here and parsing goes on; a watchlist with a
            bad route is left out (as one with a bad rule is).

    Returns:
        The watchlists with their routes, in config order.

    Raises:
        WatchlistError: the first problem (when ``errors`` is None), with its key path.
    """
    routed: list[RoutedWatchlist] = []
    for spec in parse_watchlists(raw, errors):
        index = spec.path[-1]
        item = raw[index] if isinstance(index, int) else {}
        try:
            routes = parse_routes(item.get("targets", []), (*spec.path, "targets"), spec.min_outlets)
        except WatchlistError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        routed.append(RoutedWatchlist(spec, routes))
    return routed

