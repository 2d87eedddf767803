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
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
from alerts.gazetteer import load_gazetteer
from alerts.watchlist import parse_watchlists
from crawler import CrawlOptions, SourceSpec
from crawler.listing import compile_link_pattern
from scheduler.errors import ConfigError

logger = logging.getLogger(__name__)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


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

    _every = field_validator("every", mode="before")(classmethod(lambda cls, v: parse_duration(v)))

    @field_validator("link_pattern")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_link_pattern(value)  # the crawl's engine (`regex`); raises ValueError with the reason
        return value


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

    _every = field_validator("every", "retry_base", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class _MetricsModel(_Model):
    host: str = Field(default="127.0.0.1", description="address of /metrics and /healthz")
    port: int = Field(default=0, ge=0, le=65535, description="0 turns the endpoint off")


class _RetentionModel(_Model):
    article_text_days: int = Field(default=90, ge=1, description="days article bodies are kept (title, URL, "
                                   "matches and stories are kept for ever)")
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


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    every_seconds: int = 15
    max_attempts: int = 8
    retry_base_seconds: int = 60


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    article_text_days: int = 90
    prune_every_seconds: int = 21600
    vacuum_every_seconds: int = 604800


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

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        try:
            root = yaml.compose(text)
        except yaml.YAMLError:
            root = None
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
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


def _substitute(value: Any, environ: Mapping[str, str], missing: dict[tuple[Any, ...], str],
                path: tuple[Any, ...] = ()) -> Any:
    """Replace ${VAR} in every string; remember which paths named a variable that is not set."""
    if isinstance(value, str):
        def replace(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            missing[path] = name
            return ""
        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute(v, environ, missing, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, environ, missing, (*path, i)) for i, v in enumerate(value)]
    return value


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
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(shown, [(shown, "file not found; pass --config PATH or create config.yaml")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [(shown, f"cannot read the file: {exc}")]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(shown, [(where, f"not valid YAML: {problem}")]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(shown, [(shown, "the top level must be a mapping of keys (database, sources, ...)")])

    locator = _Locator(text)
    missing: dict[tuple[Any, ...], str] = {}
    data = _substitute(raw, env, missing)
    problems: list[tuple[str, str]] = []
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            loc = tuple("from" if part == "from_" else part for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}; check its spelling against the README's config reference"
            problems.append((locator.where(shown, loc), message))
        raise ConfigError(shown, problems) from None

    crawl = _crawl_options(model.crawl, locator, shown, problems)
    watchlists: list[WatchlistSpec] = []
    gazetteer: Gazetteer | None = None
    try:
        gazetteer = load_gazetteer(model.gazetteer)
    except AlertsError as exc:
        problems.append((locator.where(shown, _parse_dotted(getattr(exc, "path", "gazetteer"))),
                         getattr(exc, "detail", str(exc))))
    try:
        watchlists = parse_watchlists(model.watchlists)
    except AlertsError as exc:
        problems.append((locator.where(shown, _parse_dotted(getattr(exc, "path", "watchlists"))),
                         getattr(exc, "detail", str(exc))))

    _check_unique(model, watchlists, locator, shown, problems)
    targets, disabled = _targets(model.targets, missing, locator, shown, problems)
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
    if gazetteer is not None and watchlists:
        from alerts.matcher import compile_matcher

        try:
            compile_matcher(watchlists, gazetteer)
        except AlertsError as exc:
            problems.append((locator.where(shown, _parse_dotted(getattr(exc, "path", "watchlists"))),
                             getattr(exc, "detail", str(exc))))
    if problems or gazetteer is None:
        raise ConfigError(shown, problems)

    database = Path(env.get("NEWSWATCH_DATABASE") or model.database)
    if not database.is_absolute():
        database = file.resolve().parent / database
    sources = tuple(
        SourceSpec(name=s.name, kind=s.kind, url=s.url, every_seconds=s.every, tags=tuple(s.tags),
                   link_pattern=s.link_pattern, link_selector=s.link_selector, max_age_days=s.max_age_days)
        for s in model.sources if s.enabled
    )
    return Config(
        path=file,
        database=database,
        log_level=env.get("NEWSWATCH_LOG_LEVEL", model.log_level).upper(),
        crawl=crawl,
        delivery=DeliverySettings(model.delivery.every, model.delivery.max_attempts, model.delivery.retry_base),
        metrics=MetricsSettings(model.metrics.host, model.metrics.port),
        retention=RetentionSettings(model.retention.article_text_days, model.retention.prune_every,
                                    model.retention.vacuum_every),
        operations=OperationsSettings(tuple(t for t in model.operations.targets if t in targets),
                                      model.operations.source_failing_after),
        sources=sources,
        targets=targets,
        disabled_targets=disabled,
        watchlists=tuple(watchlists),
        gazetteer=gazetteer,
    )


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


def _targets(models: list[_TargetModel], missing: dict[tuple[Any, ...], str], locator: _Locator, shown: str,
             problems: list[tuple[str, str]]) -> tuple[dict[str, TargetSpec], dict[str, str]]:
    """Build TargetSpecs; a target whose credentials come from an unset variable is disabled, not an error."""
    enabled: dict[str, TargetSpec] = {}
    disabled: dict[str, str] = {}
    for index, target in enumerate(models):
        unset = sorted({var for path, var in missing.items() if path[:2] == ("targets", index)})
        if not target.enabled:
            disabled[target.name] = "enabled: false"
            continue
        if unset:
            disabled[target.name] = f"{', '.join(unset)} not set in the environment"
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
