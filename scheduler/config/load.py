"""Load `config.yaml`: read, substitute ``${VAR}``, validate each part once, build the `Config`.

Resolution order, lowest first: built-in defaults < `config.yaml` < `NEWSWATCH_*` environment
variables < CLI flags (applied by the CLI). `${VAR}` and `${VAR:-default}` in any string of the file are
replaced from the environment *after* YAML parsing, so a secret never has to be quoted and never
reaches an error message.

Each part of the file is validated once: the structure by the pydantic models of
``scheduler.config.models``; the watchlists and the gazetteer by ``alerts`` (their own pydantic models
plus the rule language), whose errors carry tuple key paths; the matcher compiled on the way is kept in
the `Config`. Every problem found is reported at once, each with the file, line and key
(`config.yaml:12 sources[0].every: ...`).

Settings read: the whole file; environment: `NEWSWATCH_DATABASE`, `NEWSWATCH_LOG_LEVEL`, and every
variable named by `${...}` in the file. This package is the only code that reads `os.environ`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import ValidationError

from alerts import (
    AlertsError,
    Gazetteer,
    RouteSpec,
    StoryLinks,
    WatchlistError,
    WatchlistSpec,
    compile_matcher,
    entity_references,
    load_gazetteer,
    parse_routed_watchlists,
)
from crawler import CrawlOptions, SourceSpec
from scheduler.bounded_yaml import LimitError, compose_and_load, read_limited
from scheduler.config.locate import Locator
from scheduler.config.models import TARGET_KINDS, CrawlModel, FileModel, SourceModel
from scheduler.config.settings import (
    Config,
    DeliverySettings,
    MetricsSettings,
    OperationsSettings,
    RetentionSettings,
)
from scheduler.config.targets import build_targets
from scheduler.errors import ConfigError
from scheduler.redact import redact, register_secrets, worth_redacting
from scheduler.substitute import Substitution, substitute
from scheduler.web.settings import to_settings
from scheduler.workers.settings import WorkersSettings

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
Problems = list[tuple[str, str]]  # (file:line key, message)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, substitute, validate and convert a configuration file.

    Args:
        path: the YAML file.
        environ: the environment to resolve `${VAR}` and `NEWSWATCH_*` from (default `os.environ`).

    Returns:
        The validated Config, with the compiled matcher.

    Raises:
        ConfigError: listing every problem, each with file, line and key, and what to do.
    """
    env = os.environ if environ is None else environ
    file = Path(path)
    shown = str(path)
    root, raw = _read(file, shown)
    locator = Locator(root, shown)
    subst = substitute(raw, env)
    secrets = subst.shown_secrets()
    problems: Problems = []
    model = _validate(subst, locator, problems)
    if model is None:
        _check_watchlists_alone(subst.data, locator, problems)
        raise ConfigError(shown, _redacted(problems, subst))

    level = (env.get("NEWSWATCH_LOG_LEVEL") or model.log_level).upper()  # set but empty counts as unset
    if level not in _LOG_LEVELS:
        problems.append(("environment NEWSWATCH_LOG_LEVEL",
                         f"{env.get('NEWSWATCH_LOG_LEVEL')!r} is not a log level; use one of "
                         f"{', '.join(_LOG_LEVELS)} (or unset it to use log_level from the file)"))
    if not model.database.strip() and not subst.lacking(("database",)):
        problems.append((locator.where(("database",)),
                         "database must name a SQLite file, e.g. newswatch.db" + subst.note(("database",))))
    for state, lacking in (("not set", subst.unset), ("set but empty", subst.empty)):
        for key_path, names in lacking.items():
            if key_path[0] != "targets":  # a target is disabled instead (build_targets)
                for var in dict.fromkeys(names):
                    problems.append((locator.where(key_path), f"${{{var}}} is {state}; set it, or give "
                                     "a default with ${VAR:-value}"))
    crawl = _crawl_options(model.crawl, locator, problems)
    gazetteer, watchlists, routes, unknown = _watchlists(model, locator, problems)

    _check_unique(model, watchlists, locator, problems)
    targets, disabled = build_targets(model.targets, subst, locator, problems)
    if model.web.public_url:  # alerts link back to the workbench (alerts.links)
        links = StoryLinks(model.web.public_url, (model.web.secret_key or "").encode("utf-8") or None,
                           model.web.judge_link_days)
        targets = {name: dataclasses.replace(spec, links=links) for name, spec in targets.items()}
    known_targets = {t.name for t in model.targets}
    for index, watchlist in enumerate(watchlists):
        for name in watchlist.targets:
            if name not in known_targets:
                problems.append((locator.where(("watchlists", index, "targets")),
                                 f"watchlist {watchlist.name!r} names target {name!r}, which is not defined "
                                 f"under targets (defined: {', '.join(sorted(known_targets)) or 'none'})"))
    for name in model.operations.targets:
        if name not in known_targets:
            problems.append((locator.where(("operations", "targets")),
                             f"operations names target {name!r}, which is not defined under targets"))
    matcher = None
    if gazetteer is not None and not unknown:
        try:
            matcher = compile_matcher(watchlists, gazetteer)
        except AlertsError as exc:
            loc = exc.loc if isinstance(exc, WatchlistError) and exc.loc else ("watchlists",)
            problems.append((locator.where(loc), getattr(exc, "detail", str(exc))))
    if problems or gazetteer is None or matcher is None:
        raise ConfigError(shown, _redacted(problems, subst))

    database = Path(env.get("NEWSWATCH_DATABASE") or model.database)
    if not database.is_absolute():
        database = file.resolve().parent / database
    sources = tuple(_source_spec(index, s, subst) for index, s in enumerate(model.sources) if s.enabled)
    register_secrets(secrets)  # masked in every log line from now on (scheduler.redact)
    return Config(
        path=file,
        database=database,
        log_level=level,
        crawl=crawl,
        delivery=DeliverySettings(model.delivery.every, model.delivery.max_attempts, model.delivery.retry_base,
                                  model.delivery.backfill),
        metrics=MetricsSettings(model.metrics.host, model.metrics.port),
        retention=RetentionSettings(model.retention.article_text_days, model.retention.prune_every,
                                    model.retention.vacuum_every, model.retention.deliveries_days,
                                    model.retention.sent_days, model.retention.signature_days),
        operations=OperationsSettings(tuple(t for t in model.operations.targets if t in targets),
                                      model.operations.source_failing_after, model.operations.disable_after),
        sources=sources,
        targets=targets,
        disabled_targets=disabled,
        watchlists=tuple(watchlists),
        gazetteer=gazetteer,
        matcher=matcher,
        watchlist_routes=routes,
        secrets=tuple(secrets),
        web=to_settings(model.web),
        workers=WorkersSettings.from_model(model.workers),
    )


def target_names(path: str | Path) -> list[str]:
    """The names of the targets in a config file, read without validating it (an editor aid).

    Returns:
        The names, in file order; none when the file is missing or unreadable.
    """
    try:
        _, raw = _read(Path(path), str(path))
    except ConfigError:
        return []
    targets = raw.get("targets")
    items = targets if isinstance(targets, list) else []
    return [t["name"] for t in items if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _read(file: Path, shown: str) -> tuple[yaml.Node | None, dict[str, Any]]:
    """The YAML node tree (for line numbers) and the data of the file, which must be a mapping."""
    try:
        text = read_limited(file)
    except FileNotFoundError:
        raise ConfigError(shown, [(shown, "file not found; pass --config PATH or create config.yaml")]) from None
    except LimitError as exc:
        raise ConfigError(shown, [(shown, str(exc.problem))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [(shown, f"cannot read the file: {exc}")]) from None
    try:
        root, raw = compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        problem = getattr(exc, "problem", None) or str(exc)
        message = str(problem) if isinstance(exc, LimitError) else f"not valid YAML: {problem}"
        raise ConfigError(shown, [(where, message)]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(shown, [(shown, "the top level must be a mapping of keys (database, sources, ...)")])
    return root, raw


def _watchlists(model: FileModel, locator: Locator, problems: Problems) -> tuple[
        Gazetteer | None, list[WatchlistSpec], dict[str, tuple[RouteSpec, ...]], Problems]:
    """The gazetteer, the watchlists and their routes, and the unknown @entity problems (also appended).

    The gazetteer is None when an entry was left out: references to it would be reported as unknown too.
    """
    errors: list[WatchlistError] = []
    gazetteer: Gazetteer | None = None
    try:
        gazetteer = load_gazetteer(model.gazetteer, errors)
    except AlertsError as exc:
        loc = exc.loc if isinstance(exc, WatchlistError) and exc.loc else ("gazetteer",)
        problems.append((locator.where(loc), getattr(exc, "detail", str(exc))))
    if errors:
        gazetteer = None
    for error in errors:
        problems.append((locator.where(error.loc or ("gazetteer",)), error.detail))
    errors = []
    routed = parse_routed_watchlists(model.watchlists, errors)
    for error in errors:
        problems.append((locator.where(error.loc or ("watchlists",)), error.detail))
    unknown = _unknown_entities(model.watchlists, gazetteer, locator) if gazetteer is not None else []
    problems.extend(unknown)
    return gazetteer, [r.spec for r in routed], {r.name: r.routes for r in routed}, unknown


def _redacted(problems: Problems, subst: Substitution) -> Problems:
    """Problems with every ${VAR} value masked: an error message must never echo a secret.

    Values worth masking anywhere (scheduler.redact) are masked wherever they appear; any other value
    from the environment, however short, is masked where a message quotes it ('value').
    """
    secrets = subst.shown_secrets()
    quoted = sorted({repr(v) for v in subst.secrets()} | {f"'{v}'" for v in subst.secrets()}, key=len, reverse=True)
    out = []
    for where, message in problems:
        message = redact(message, secrets)
        for form in quoted:
            message = message.replace(form, "'***'")
        out.append((where, message))
    return out


def _file_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location as a key path of the file: aliases as written, no union tags."""
    path = tuple("from" if part == "from_" else part for part in loc)
    if len(path) > 2 and path[0] == "targets" and path[2] in TARGET_KINDS:
        path = path[:2] + path[3:]  # the discriminated union puts the kind into the location
    return path


def _message(error: Any, path: tuple[Any, ...], data: Any) -> tuple[tuple[Any, ...], str]:
    """The key path and the message users see for one pydantic error (`data`: the file's data)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        if path[0] == "targets" and path[-1] in ("token", "channel") and len(path) == 3:
            name = data["targets"][path[1]].get("name")
            return path[:2], f"target {name!r}: token and channel apply to slack targets only"
        return path, f"unknown key {path[-1]!r}; check its spelling against the README's config reference"
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(repr(k) for k in TARGET_KINDS[:-1]) + f" or {TARGET_KINDS[-1]!r}"
        found = error["type"] == "union_tag_invalid"
        return (*path, "kind"), f"Input should be {kinds}" if found else "Field required"
    return path, message


def _validate(subst: Substitution, locator: Locator, problems: Problems) -> FileModel | None:
    """The validated file model, or None with every problem appended.

    A type error in a target key whose ${VAR} is unset or empty is not a problem: that target is
    disabled (like any other target whose variables are missing), so the key is dropped and the
    file validated again.
    """
    data = subst.data
    for attempt in (1, 2):
        try:
            return FileModel.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_input=False, include_url=False)
        forgiven = [_file_loc(tuple(e["loc"])) for e in errors if _disables_target(_file_loc(tuple(e["loc"])), subst)]
        if attempt == 1 and forgiven and isinstance(data, dict):
            for loc in forgiven:
                _drop(data, loc)
            continue
        for error in errors:
            loc, message = _message(error, _file_loc(tuple(error["loc"])), data)
            problems.append((locator.where(loc), message + subst.note(loc)))
        return None
    return None  # pragma: no cover - the loop returns


def _disables_target(path: tuple[Any, ...], subst: Substitution) -> bool:
    return len(path) > 2 and path[0] == "targets" and (path in subst.unset or path in subst.empty)


def _drop(data: dict[str, Any], path: tuple[Any, ...]) -> None:
    node: Any = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _check_watchlists_alone(data: Any, locator: Locator, problems: Problems) -> None:
    """Report watchlist problems too when the rest of the file is invalid (check-config lists all)."""
    raw = data.get("watchlists") if isinstance(data, dict) else None
    if not isinstance(raw, list) or any(p[0].split(" ", 1)[-1].startswith("watchlists") for p in problems):
        return
    errors: list[WatchlistError] = []
    parse_routed_watchlists(raw, errors)
    for error in errors:
        problems.append((locator.where(error.loc or ("watchlists",)), error.detail))


def _unknown_entities(raw: list[dict[str, Any]], gazetteer: Gazetteer, locator: Locator) -> Problems:
    """A problem for each @entity term that the gazetteer lacks, at the term, with close ids suggested."""
    found: Problems = []
    known = list(gazetteer.entities)
    for path, entity_id in entity_references(raw):
        if entity_id in gazetteer:
            continue
        close = difflib.get_close_matches(entity_id, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join('@' + c for c in close)}?" if close else \
            "; add it under gazetteer: or fix the id"
        found.append((locator.where(path), f"unknown entity @{entity_id}{hint}"))
    return found


def _source_spec(index: int, source: SourceModel, subst: Substitution) -> SourceSpec:
    """A SourceSpec whose shown URL has every ${VAR} value (and any password in it) masked."""
    shown_url = _without_password(subst.masked.get(("sources", index, "url"), source.url))
    return SourceSpec(name=source.name, kind=source.kind, url=source.url, every_seconds=source.every,
                      tags=tuple(source.tags), link_pattern=source.link_pattern, link_selector=source.link_selector,
                      max_age_days=source.max_age_days, display_url=shown_url,
                      headers=tuple(source.headers.items()), render=source.render,
                      min_every_seconds=source.min_every or 0, max_every_seconds=source.max_every or 0,
                      secrets=tuple(sorted({v for v in subst.secrets(("sources", index)) if worth_redacting(v)},
                                         key=len, reverse=True)))


def _without_password(url: str) -> str:
    """`url` with a password written in it (https://user:pass@host) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None or parts.password == "***":
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _crawl_options(raw: dict[str, Any], locator: Locator, problems: Problems) -> CrawlOptions:
    """The ``crawl`` section as CrawlOptions: unknown and mistyped options are reported and left out.

    `CrawlModel` checks each option's type; the values given to CrawlOptions are the file's (a YAML
    list becomes a tuple), whose own checks then see what the user wrote.
    """
    known = CrawlModel.model_fields
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            problems.append((locator.where(("crawl", key)),
                             f"unknown crawl option {key!r}; known: {', '.join(sorted(known))}"))
            continue
        try:
            CrawlModel.model_validate({key: value})
        except ValidationError as exc:
            message = str(exc.errors(include_input=False, include_url=False)[0]["msg"])
            problems.append((locator.where(("crawl", key)), message.removeprefix("Value error, ")))
            continue
        values[key] = tuple(value) if isinstance(value, list) else value  # a YAML list
    try:
        return CrawlOptions(**values)
    except ValueError as exc:
        problems.append((locator.where(("crawl",)), str(exc)))
        return CrawlOptions()


def _check_unique(model: FileModel, watchlists: list[WatchlistSpec], locator: Locator, problems: Problems) -> None:
    groups: list[tuple[str, list[str]]] = [
        ("sources", [s.name for s in model.sources]),
        ("targets", [t.name for t in model.targets]),
        ("watchlists", [w.name for w in watchlists]),
    ]
    for section, names in groups:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                problems.append((locator.where((section, index, "name")),
                                 f"{name!r} is used twice in {section}; names must be unique"))
            seen.add(name)
