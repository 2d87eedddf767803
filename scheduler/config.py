"""Load and validate `config.yaml` into plain typed values for the lower layers.

This is the only module that reads `os.environ`. Resolution order, lowest first: built-in defaults <
`config.yaml` < `NEWSWATCH_*` environment variables < CLI flags (applied by the CLI). `${VAR}` and
`${VAR:-default}` in any string of the file are replaced from the environment *after* YAML parsing, so
a secret never has to be quoted and never reaches an error message.

Every problem found is reported at once, each with the file, line and key (`config.yaml:12
sources[0].every: ...`), and the loaded config is a frozen `Config` of crawler/alerts dataclasses:
lower layers never see the YAML.

Settings read: the whole file; environment: `NEWSWATCH_DATABASE`, `NEWSWATCH_LOG_LEVEL`, and every
variable named by `${...}` in the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerts import (
    AlertsError,
    Gazetteer,
    QuietHours,
    RateLimit,
    RouteSpec,
    SmtpSettings,
    TargetSpec,
    WatchlistSpec,
    check_timezone,
    parse_clock,
)
from alerts.errors import WatchlistError
from alerts.match.gazetteer import load_gazetteer
from alerts.match.watchlist import entity_references, parse_watchlists
from crawler import CrawlOptions, SourceSpec
from crawler.listing import compile_link_pattern
from scheduler.bounded_yaml import LimitError, compose_and_load, read_limited
from scheduler.errors import ConfigError
from scheduler.redact import redact, register_secrets, worth_redacting
from scheduler.substitute import Substitution, substitute
from scheduler.workers.settings import WorkersModel, WorkersSettings

logger = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_duration(value: str | int | float) -> int:
    """Seconds in a duration such as `90`, `30s`, `5m`, `2h` or `1d`.

    Raises:
        ValueError: the value is not a positive duration.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 5m, 1h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration; write it like 30s, 5m, 1h or 1d")
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return int(seconds)


Duration = Annotated[int, Field(description="seconds; accepts 30s, 5m, 1h, 1d")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourceModel(_Model):
    name: str = Field(pattern=_NAME, description="unique name, used as the key of its state")
    kind: Literal["feed", "sitemap", "listing"] = Field(description="feed, sitemap or listing")
    url: str = Field(pattern=r"^https?://", description="feed, sitemap or section page URL")
    every: Duration = Field(default=600, description="crawl interval (5m by default)")
    tags: list[str] = Field(default_factory=list, description="labels copied onto its articles")
    link_pattern: str | None = Field(default=None, description="listing: regex article links match")
    link_selector: str | None = Field(default=None, description="listing: CSS selector of article links")
    max_age_days: int = Field(default=3, ge=1, description="skip entries older than this")
    enabled: bool = Field(default=True, description="false keeps the source but does not crawl it")
    render: Literal["plain", "browser"] = Field(default="plain", description="listing: browser loads the "
                                                "section page in headless Chromium so its scripts build the list")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers for the feed, "
                                    "sitemap or page, e.g. {Authorization: 'Bearer ${TOKEN}'}; sent only to "
                                    "the source's own origin, never shown")

    _every = field_validator("every", mode="before")(classmethod(lambda cls, v: parse_duration(v)))

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name (letters, digits and -)")
            if "\r" in text or "\n" in text:
                raise ValueError(f"the value of header {name!r} must be one line")
        return value

    @field_validator("link_selector")
    @classmethod
    def _selector_parses(cls, value: str | None) -> str | None:
        if value is not None:
            # The crawler selects links with parsel, which translates CSS with cssselect: the same here.
            from cssselect import SelectorError
            from parsel.csstranslator import HTMLTranslator

            try:
                HTMLTranslator().css_to_xpath(value)
            except SelectorError as exc:
                raise ValueError(f"not a valid CSS selector: {exc}; e.g. 'h3 a' or 'a.headline'") from None
        return value

    @field_validator("link_pattern")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_link_pattern(value)  # the crawl's engine (`regex`); raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _render_needs_listing(self) -> _SourceModel:
        if self.render == "browser" and self.kind != "listing":
            raise ValueError(f"render: browser applies to listing sources (section pages), not to a {self.kind}")
        return self


class _SmtpModel(_Model):
    host: str = Field(description="SMTP server host")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    username: str | None = Field(default=None, description="login name, if the server wants one")
    password: str | None = Field(default=None, description="password: use ${VAR}, never the literal")
    starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(default=False, description="connect with implicit TLS (port 465)")
    timeout: float = Field(default=20.0, gt=0, description="seconds per SMTP operation")
    ca_file: str | None = Field(default=None, description="PEM file of the CA (or self-signed certificate) "
                                "to trust for TLS, relative to config.yaml; default: the system's CA store")


class _QuietHoursModel(_Model):
    start: str = Field(description='quiet hours begin at this local time, "HH:MM" (24-hour clock)')
    end: str = Field(description='quiet hours end at this local time, "HH:MM"; held alerts go out then')
    timezone: str = Field(default="UTC", description="IANA time zone of start and end, e.g. Asia/Tokyo")
    min_score: float | None = Field(default=None, description="alerts scoring at least this still go out "
                                    "at once; unset: none do")

    _clock = field_validator("start", "end")(classmethod(lambda cls, v: parse_clock(v).strftime("%H:%M")))
    _zone = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: str, info: Any) -> str:
        if value == info.data.get("start"):
            raise ValueError("quiet hours must not start and end at the same time")
        return value


class _RateLimitModel(_Model):
    max: int = Field(ge=1, description="most immediate alert messages to the target per period")
    per: Duration = Field(default=3600, description="the period (1h by default); more alerts fold into a digest")

    _per = field_validator("per", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class _TargetModel(_Model):
    name: str = Field(pattern=_NAME, description="unique name watchlists refer to")
    kind: Literal["slack", "webhook", "email", "apprise"] = Field(description="the channel")
    url: str | None = Field(default=None, description="slack/webhook/apprise: where to post (slack: an "
                            "incoming webhook)")
    token: str | None = Field(default=None, description="slack: a bot token instead of url (use ${VAR}); "
                              "story updates then go out as thread replies")
    channel: str | None = Field(default=None, description="slack with token: the channel id, e.g. C0123ABCD")
    api_url: str | None = Field(default=None, description="slack with token: the Web API base URL "
                                "(default https://slack.com/api)")
    secret: str | None = Field(default=None, description="webhook: HMAC-SHA256 signing secret")
    smtp: _SmtpModel | None = Field(default=None, description="email: the SMTP server")
    from_: str | None = Field(default=None, alias="from", description="email: the sender address")
    to: list[str] = Field(default_factory=list, description="email: recipient addresses")
    timeout: float = Field(default=10.0, gt=0, description="seconds per delivery attempt")
    enabled: bool = Field(default=True, description="false keeps the target but sends nothing")
    quiet_hours: _QuietHoursModel | None = Field(default=None, description="hold low-scoring alerts "
                                                 "during these hours, send them as a digest after")
    rate_limit: _RateLimitModel | None = Field(default=None, description="fold alerts beyond max per period "
                                               "into a digest")


class _DeliveryModel(_Model):
    every: Duration = Field(default=15, description="how often the outbox is drained")
    max_attempts: int = Field(default=8, ge=1, description="attempts before an alert is dead-lettered")
    retry_base: Duration = Field(default=60, description="wait before the first retry; doubles each time")
    backfill: Duration = Field(default=86400, ge=0, description="when a target comes on (start, reload), queue "
                               "stories its watchlists matched this long before while it was off; 0 turns it off")

    _every = field_validator("every", "retry_base", mode="before")(classmethod(lambda cls, v: parse_duration(v)))
    _backfill = field_validator("backfill", mode="before")(
        classmethod(lambda cls, v: 0 if v in (0, "0") else parse_duration(v)))


class _MetricsModel(_Model):
    host: str = Field(default="127.0.0.1", description="address of /metrics and /healthz")
    port: int = Field(default=0, ge=0, le=65535, description="0 turns the endpoint off")


class _RetentionModel(_Model):
    article_text_days: int = Field(default=90, ge=1, description="days article bodies are kept (title, URL, "
                                   "matches and stories are kept for ever)")
    deliveries_days: int = Field(default=30, ge=1, description="days the log of send attempts is kept")
    sent_days: int = Field(default=30, ge=1, description="days sent alerts, digests and thread replies stay in the "
                           "outbox after they went out and their story went quiet (a story never alerts twice)")
    signature_days: int = Field(default=7, ge=1, description="days the near-duplicate signatures of a quiet story "
                                "are kept (at least 3: a story takes new articles for 3 days)")
    prune_every: Duration = Field(default=21600, description="how often old data is pruned (6h by default)")
    vacuum_every: Duration = Field(default=604800, description="how often the database is compacted (7d)")

    _every = field_validator("prune_every", "vacuum_every", mode="before")(
        classmethod(lambda cls, v: parse_duration(v)))


class _OperationsModel(_Model):
    targets: list[str] = Field(default_factory=list, description="targets told about failing sources and "
                               "rejected config edits")
    source_failing_after: Duration = Field(default=21600, description="a source failing this long raises a "
                                           "notice (6h by default)")

    _every = field_validator("source_failing_after", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class _FileModel(_Model):
    database: str = Field(default="newswatch.db", description="SQLite file (relative to config.yaml)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="log level")
    crawl: dict[str, Any] = Field(default_factory=dict, description="crawler options (see README)")
    delivery: _DeliveryModel = Field(default_factory=_DeliveryModel, description="outbox draining")
    metrics: _MetricsModel = Field(default_factory=_MetricsModel, description="Prometheus endpoint")
    retention: _RetentionModel = Field(default_factory=_RetentionModel, description="pruning and compaction")
    operations: _OperationsModel = Field(default_factory=_OperationsModel, description="who hears about "
                                         "the daemon's own problems")
    sources: list[_SourceModel] = Field(default_factory=list, description="what to crawl")
    targets: list[_TargetModel] = Field(default_factory=list, description="where alerts go")
    watchlists: list[dict[str, Any]] = Field(default_factory=list, description="what to alert on")
    gazetteer: list[dict[str, Any]] = Field(default_factory=list, description="extra entities/aliases")
    workers: WorkersModel = Field(default_factory=WorkersModel, description="crawl on worker machines "
                                  "through Redis (off by default; docs/workers.md)")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    every_seconds: int = 15
    max_attempts: int = 8
    retry_base_seconds: int = 60
    backfill_seconds: int = 86400


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    article_text_days: int = 90
    prune_every_seconds: int = 21600
    vacuum_every_seconds: int = 604800
    deliveries_days: int = 30
    sent_days: int = 30
    signature_days: int = 7


@dataclass(frozen=True, slots=True)
class OperationsSettings:
    targets: tuple[str, ...] = ()
    source_failing_after_seconds: int = 21600


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True)
class Config:
    """A validated configuration: what the daemon and the CLI work from."""

    path: Path
    database: Path
    log_level: str
    crawl: CrawlOptions
    delivery: DeliverySettings
    metrics: MetricsSettings
    retention: RetentionSettings
    operations: OperationsSettings
    sources: tuple[SourceSpec, ...]
    targets: Mapping[str, TargetSpec]  # enabled targets only
    disabled_targets: Mapping[str, str]  # name -> why it is off
    watchlists: tuple[WatchlistSpec, ...]
    gazetteer: Gazetteer = field(repr=False)
    # The matcher validation compiled (an `alerts.Matcher`), so the daemon does not compile it again.
    matcher: Any = field(default=None, repr=False, compare=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)  # ${VAR} values: never shown (scheduler.redact)
    workers: WorkersSettings = field(default_factory=WorkersSettings)  # scheduler.workers

    def routes(self) -> dict[str, tuple[RouteSpec, ...]]:
        """Watchlist name -> routes to its enabled targets (target name, digest schedule, min_outlets)."""
        return {w.name: tuple(r for r in w.route_specs() if r.target in self.targets) for w in self.watchlists}

    def source(self, name: str) -> SourceSpec:
        for spec in self.sources:
            if spec.name == name:
                return spec
        raise KeyError(name)


class _Locator:
    """Maps a key path such as ('sources', 0, 'every') to the line it stands on in the file."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a complex key (? [a, b]); validation reports it
                key = key_node.value
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                self._walk(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def where(self, file: str, path: tuple[Any, ...]) -> str:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return f"{file}:{line} {dotted}" if line else f"{file} {dotted or '(top level)'}"


def _parse_dotted(path: str) -> tuple[Any, ...]:
    """'watchlists[1].rules[0].near' -> ('watchlists', 1, 'rules', 0, 'near')."""
    parts: list[Any] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, substitute, validate and convert a configuration file.

    Args:
        path: the YAML file.
        environ: the environment to resolve `${VAR}` and `NEWSWATCH_*` from (default `os.environ`).

    Returns:
        The validated Config.

    Raises:
        ConfigError: listing every problem, each with file, line and key, and what to do.
    """
    env = os.environ if environ is None else environ
    file = Path(path)
    shown = str(path)
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

    locator = _Locator(root)
    subst = substitute(raw, env)
    secrets = subst.shown_secrets()
    problems: list[tuple[str, str]] = []
    model = _validate(subst, locator, shown, problems)
    if model is None:
        _check_watchlists_alone(subst.data, locator, shown, problems)
        raise ConfigError(shown, _redacted(problems, subst))

    level = (env.get("NEWSWATCH_LOG_LEVEL") or model.log_level).upper()  # set but empty counts as unset
    if level not in _LOG_LEVELS:
        problems.append(("environment NEWSWATCH_LOG_LEVEL",
                         f"{env.get('NEWSWATCH_LOG_LEVEL')!r} is not a log level; use one of "
                         f"{', '.join(_LOG_LEVELS)} (or unset it to use log_level from the file)"))
    if not model.database.strip() and not subst.lacking(("database",)):
        problems.append((locator.where(shown, ("database",)),
                         "database must name a SQLite file, e.g. newswatch.db" + subst.note(("database",))))
    for state, lacking in (("not set", subst.unset), ("set but empty", subst.empty)):
        for key_path, names in lacking.items():
            if key_path[0] != "targets":  # a target is disabled instead (_targets)
                for var in dict.fromkeys(names):
                    problems.append((locator.where(shown, key_path), f"${{{var}}} is {state}; set it, or give "
                                     "a default with ${VAR:-value}"))
    crawl = _crawl_options(model.crawl, locator, shown, problems)
    watchlists: list[WatchlistSpec] = []
    gazetteer: Gazetteer | None = None
    errors: list[WatchlistError] = []
    try:
        gazetteer = load_gazetteer(model.gazetteer, errors)
    except AlertsError as exc:
        problems.append((locator.where(shown, _parse_dotted(getattr(exc, "path", "gazetteer"))),
                         getattr(exc, "detail", str(exc))))
    if errors:  # entries left out: references to them would be reported as unknown entities too
        gazetteer = None
    for error in errors:
        problems.append((locator.where(shown, _parse_dotted(error.path or "gazetteer")), error.detail))
    errors = []
    watchlists = parse_watchlists(model.watchlists, errors)
    for error in errors:
        problems.append((locator.where(shown, _parse_dotted(error.path or "watchlists")), error.detail))
    unknown = _unknown_entities(model.watchlists, gazetteer, locator, shown) if gazetteer is not None else []
    problems.extend(unknown)

    _check_unique(model, watchlists, locator, shown, problems)
    targets, disabled = _targets(model.targets, subst, locator, shown, problems)
    known_targets = {t.name for t in model.targets}
    for index, watchlist in enumerate(watchlists):
        for name in watchlist.targets:
            if name not in known_targets:
                problems.append((locator.where(shown, ("watchlists", index, "targets")),
                                 f"watchlist {watchlist.name!r} names target {name!r}, which is not defined "
                                 f"under targets (defined: {', '.join(sorted(known_targets)) or 'none'})"))
    for name in model.operations.targets:
        if name not in known_targets:
            problems.append((locator.where(shown, ("operations", "targets")),
                             f"operations names target {name!r}, which is not defined under targets"))
    matcher = None
    if gazetteer is not None and watchlists and not unknown:
        from alerts.match.matcher import compile_matcher

        try:
            matcher = compile_matcher(watchlists, gazetteer)
        except AlertsError as exc:
            problems.append((locator.where(shown, _parse_dotted(getattr(exc, "path", "watchlists"))),
                             getattr(exc, "detail", str(exc))))
    if problems or gazetteer is None:
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
                                      model.operations.source_failing_after),
        sources=sources,
        targets=targets,
        disabled_targets=disabled,
        watchlists=tuple(watchlists),
        gazetteer=gazetteer,
        matcher=matcher,
        secrets=tuple(secrets),
        workers=WorkersSettings.from_model(model.workers),
    )


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _redacted(problems: list[tuple[str, str]], subst: Substitution) -> list[tuple[str, str]]:
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


def _validate(subst: Substitution, locator: _Locator, shown: str,
              problems: list[tuple[str, str]]) -> _FileModel | None:
    """The validated file model, or None with every problem appended.

    A type error in a target key whose ${VAR} is unset or empty is not a problem: that target is
    disabled (like any other target whose variables are missing), so the key is dropped and the
    file validated again.
    """
    data = subst.data
    for attempt in (1, 2):
        try:
            return _FileModel.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_input=False, include_url=False)
        forgiven = [e["loc"] for e in errors if _disables_target(tuple(e["loc"]), subst)]
        if attempt == 1 and forgiven and isinstance(data, dict):
            for loc in forgiven:
                _drop(data, tuple("from" if part == "from_" else part for part in loc))
            continue
        for error in errors:
            loc = tuple("from" if part == "from_" else part for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}; check its spelling against the README's config reference"
            problems.append((locator.where(shown, loc), message + subst.note(loc)))
        return None
    return None  # pragma: no cover - the loop returns


def _disables_target(loc: tuple[Any, ...], subst: Substitution) -> bool:
    path = tuple("from" if part == "from_" else part for part in loc)
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


def _check_watchlists_alone(data: Any, locator: _Locator, shown: str, problems: list[tuple[str, str]]) -> None:
    """Report watchlist problems too when the rest of the file is invalid (check-config lists all)."""
    raw = data.get("watchlists") if isinstance(data, dict) else None
    if not isinstance(raw, list) or any(p[0].split(" ", 1)[-1].startswith("watchlists") for p in problems):
        return
    errors: list[WatchlistError] = []
    parse_watchlists(raw, errors)
    for error in errors:
        problems.append((locator.where(shown, _parse_dotted(error.path or "watchlists")), error.detail))


def _unknown_entities(raw: list[dict[str, Any]], gazetteer: Gazetteer, locator: _Locator,
                      shown: str) -> list[tuple[str, str]]:
    """A problem for each @entity term that the gazetteer lacks, at the term, with close ids suggested."""
    found: list[tuple[str, str]] = []
    known = list(gazetteer.entities)
    for path, entity_id in entity_references(raw):
        if entity_id in gazetteer:
            continue
        close = difflib.get_close_matches(entity_id, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join('@' + c for c in close)}?" if close else \
            "; add it under gazetteer: or fix the id"
        found.append((locator.where(shown, _parse_dotted(path)), f"unknown entity @{entity_id}{hint}"))
    return found


def _source_spec(index: int, source: _SourceModel, subst: Substitution) -> SourceSpec:
    """A SourceSpec whose shown URL has every ${VAR} value (and any password in it) masked."""
    shown_url = _without_password(subst.masked.get(("sources", index, "url"), source.url))
    return SourceSpec(name=source.name, kind=source.kind, url=source.url, every_seconds=source.every,
                      tags=tuple(source.tags), link_pattern=source.link_pattern, link_selector=source.link_selector,
                      max_age_days=source.max_age_days, display_url=shown_url,
                      headers=tuple(source.headers.items()), render=source.render,
                      secrets=tuple(sorted({v for v in subst.secrets(("sources", index)) if worth_redacting(v)},
                                         key=len, reverse=True)))


def _without_password(url: str) -> str:
    """`url` with a password written in it (https://user:pass@host) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None or parts.password == "***":
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _crawl_options(raw: dict[str, Any], locator: _Locator, shown: str,
                   problems: list[tuple[str, str]]) -> CrawlOptions:
    known = {f.name: f for f in dataclasses.fields(CrawlOptions)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            problems.append((locator.where(shown, ("crawl", key)),
                             f"unknown crawl option {key!r}; known: {', '.join(sorted(known))}"))
            continue
        default = getattr(CrawlOptions(), key)
        value = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value  # YAML list
        if default is not None and not isinstance(value, type(default)) and not (
            isinstance(default, float) and isinstance(value, int)
        ):
            problems.append((locator.where(shown, ("crawl", key)),
                             f"expected {type(default).__name__}, got {value!r}"))
            continue
        values[key] = value
    try:
        return CrawlOptions(**values)
    except ValueError as exc:
        problems.append((locator.where(shown, ("crawl",)), str(exc)))
        return CrawlOptions()


def _check_unique(model: _FileModel, watchlists: list[WatchlistSpec], locator: _Locator, shown: str,
                  problems: list[tuple[str, str]]) -> None:
    groups: list[tuple[str, list[str]]] = [
        ("sources", [s.name for s in model.sources]),
        ("targets", [t.name for t in model.targets]),
        ("watchlists", [w.name for w in watchlists]),
    ]
    for section, names in groups:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                problems.append((locator.where(shown, (section, index, "name")),
                                 f"{name!r} is used twice in {section}; names must be unique"))
            seen.add(name)


def _targets(models: list[_TargetModel], subst: Substitution, locator: _Locator, shown: str,
             problems: list[tuple[str, str]]) -> tuple[dict[str, TargetSpec], dict[str, str]]:
    """Build TargetSpecs; a target whose settings use an unset or empty variable is disabled, not an error."""
    enabled: dict[str, TargetSpec] = {}
    disabled: dict[str, str] = {}
    for index, target in enumerate(models):
        lacking = subst.lacking(("targets", index))
        if not target.enabled:
            disabled[target.name] = "enabled: false"
            continue
        if lacking:
            why = "; ".join(f"{var} {state}" for var, state in sorted(lacking.items()))
            disabled[target.name] = why
            logger.info("target %s is disabled: %s (%s)", target.name, why,
                        locator.where(shown, ("targets", index)))
            continue
        where = locator.where(shown, ("targets", index))
        if target.kind != "slack" and (target.token or target.channel):
            problems.append((where, f"target {target.name!r}: token and channel apply to slack targets only"))
            continue
        if target.kind == "slack" and (target.token or target.channel):
            if target.url or not target.token or not target.channel:
                problems.append((where, f"target {target.name!r}: a slack target takes either url (an incoming "
                                 "webhook) or token and channel (a bot token), not both"))
                continue
            if target.api_url is not None and not re.match(r"^https?://", target.api_url):
                problems.append((where, f"target {target.name!r}: api_url must start with http:// or https://"))
                continue
            spec = TargetSpec(name=target.name, kind="slack", token=target.token, channel=target.channel,
                              timeout=target.timeout, **_shaping(target))
            if target.api_url:
                spec = dataclasses.replace(spec, api_url=target.api_url)
            enabled[target.name] = spec
        elif target.kind in ("slack", "webhook", "apprise"):
            if not target.url:
                needs = "a url, or token and channel" if target.kind == "slack" else "a url"
                problems.append((where, f"target {target.name!r} ({target.kind}) needs {needs}"))
                continue
            if target.kind != "apprise" and not re.match(r"^https?://", target.url):
                problems.append((where, f"target {target.name!r}: url must start with http:// or https://"))
                continue
            enabled[target.name] = TargetSpec(name=target.name, kind=target.kind, url=target.url,
                                              secret=target.secret or None, timeout=target.timeout,
                                              **_shaping(target))
        else:
            if target.smtp is None or not target.from_ or not target.to:
                problems.append((where, f"email target {target.name!r} needs smtp (host), from and to"))
                continue
            ca_file = None
            if target.smtp.ca_file:
                ca_path = (Path(shown).resolve().parent / target.smtp.ca_file).resolve()
                if not ca_path.is_file():
                    problems.append((locator.where(shown, ("targets", index, "smtp", "ca_file")),
                                     f"email target {target.name!r}: ca_file {str(ca_path)!r} does not exist; "
                                     "give the path of a PEM file (relative to the config file)"))
                    continue
                ca_file = str(ca_path)
            smtp = SmtpSettings(host=target.smtp.host, port=target.smtp.port,
                                username=target.smtp.username or None, password=target.smtp.password or None,
                                starttls=target.smtp.starttls, ssl=target.smtp.ssl, timeout=target.smtp.timeout,
                                ca_file=ca_file)
            enabled[target.name] = TargetSpec(name=target.name, kind="email", smtp=smtp, sender=target.from_,
                                              recipients=tuple(target.to), timeout=target.timeout,
                                              **_shaping(target))
    return enabled, disabled


def _shaping(target: _TargetModel) -> dict[str, Any]:
    """The target's quiet hours and rate limit as TargetSpec keyword arguments."""
    quiet = target.quiet_hours
    limit = target.rate_limit
    return {
        "quiet_hours": QuietHours(parse_clock(quiet.start), parse_clock(quiet.end), quiet.timezone, quiet.min_score)
        if quiet else None,
        "rate_limit": RateLimit(limit.max, limit.per) if limit else None,
    }


def settings_reference() -> list[tuple[str, str, str]]:
    """Every config key with its default and help text: (key, default, help), for docs and tests."""
    rows: list[tuple[str, str, str]] = []

    def nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
        """The pydantic model inside `X`, `X | None` or `list[X]`, and whether it is a list."""
        is_list = getattr(annotation, "__origin__", None) is list
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate, is_list
        return None, False

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            key = f"{prefix}{info.alias or name}"
            default = "" if info.is_required() else repr(info.get_default(call_default_factory=True))
            rows.append((key, default, info.description or ""))
            inner, is_list = nested_model(info.annotation)
            if inner is not None:
                walk(inner, key + ("[]." if is_list else "."))

    walk(_FileModel, "")
    return rows
