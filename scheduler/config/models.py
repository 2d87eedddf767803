"""The structure of `config.yaml` as pydantic models: one per section, composed into `FileModel`.

Every key is declared once, with its default and help text (README's config reference and
`newswatch config schema` are made from these). Targets are a union discriminated by ``kind``, so each
channel accepts only its own keys. Watchlists, their routes and gazetteer entries are declared by
the alerts package (`WatchlistModel`, `RouteModel`, `EntityModel`), which parses them because their
checks depend on order (sets before rules, shipped entities before additions); `SchemaFileModel`
composes them for the JSON Schema, and ``scheduler.config.load`` hands the raw lists to alerts.

Settings read: the whole file (structure only; ``${VAR}`` substitution happens before).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from alerts import EntityModel, TargetRef, WatchlistModel, check_timezone, parse_clock
from crawler import CrawlOptions
from crawler.listing import compile_link_pattern
from scheduler.config.durations import Duration, DurationOrZero
from scheduler.web.settings import WebModel
from scheduler.workers.settings import WorkersModel

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
TARGET_KINDS = ("slack", "webhook", "email", "apprise")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceModel(_Model):
    """A news source to crawl."""

    name: str = Field(pattern=NAME, description="unique name, used as the key of its state")
    kind: Literal["feed", "sitemap", "listing"] = Field(description="feed, sitemap or listing")
    url: str = Field(pattern=r"^https?://", description="feed, sitemap or section page URL")
    every: Duration = Field(default=600, description="crawl interval (5m by default)")
    tags: list[str] = Field(default_factory=list, description="labels copied onto its articles")
    link_pattern: str | None = Field(default=None, description="listing: regex article links match")
    link_selector: str | None = Field(default=None, description="listing: CSS selector of article links")
    max_age_days: int = Field(default=3, ge=1, description="skip entries older than this")
    enabled: bool = Field(default=True, description="false keeps the source but does not crawl it")
    min_every: Duration | None = Field(default=None, description="floor of the adaptive interval (with "
                                       "max_every: the interval follows how often the source publishes)")
    max_every: Duration | None = Field(default=None, description="ceiling of the adaptive interval")
    render: Literal["plain", "browser"] = Field(default="plain", description="listing: browser loads the "
                                                "section page in headless Chromium so its scripts build the list")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers for the feed, "
                                    "sitemap or page, e.g. {Authorization: 'Bearer ${TOKEN}'}; sent only to "
                                    "the source's own origin, never shown")

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
    def _source_options_fit(self) -> SourceModel:
        if self.render == "browser" and self.kind != "listing":
            raise ValueError(f"render: browser applies to listing sources (section pages), not to a {self.kind}")
        if self.min_every is not None and self.min_every > self.every:
            raise ValueError(f"min_every ({self.min_every}s) must not be above every ({self.every}s)")
        if self.max_every is not None and self.max_every < self.every:
            raise ValueError(f"max_every ({self.max_every}s) must not be below every ({self.every}s)")
        return self


class SmtpModel(_Model):
    """An SMTP server."""

    host: str = Field(description="SMTP server host")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    username: str | None = Field(default=None, description="login name, if the server wants one")
    password: str | None = Field(default=None, description="password: use ${VAR}, never the literal")
    starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(default=False, description="connect with implicit TLS (port 465)")
    timeout: float = Field(default=20.0, gt=0, description="seconds per SMTP operation")
    ca_file: str | None = Field(default=None, description="PEM file of the CA (or self-signed certificate) "
                                "to trust for TLS, relative to config.yaml; default: the system's CA store")


class QuietHoursModel(_Model):
    """Hours in which a target only gets high-scoring alerts at once."""

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


class RateLimitModel(_Model):
    """A cap on immediate alert messages to a target."""

    max: int = Field(ge=1, description="most immediate alert messages to the target per period")
    per: Duration = Field(default=3600, description="the period (1h by default); more alerts fold into a digest")


class _TargetBase(_Model):
    name: str = Field(pattern=NAME, description="unique name watchlists refer to")
    timeout: float = Field(default=10.0, gt=0, description="seconds per delivery attempt")
    enabled: bool = Field(default=True, description="false keeps the target but sends nothing")
    quiet_hours: QuietHoursModel | None = Field(default=None, description="hold low-scoring alerts "
                                                "during these hours, send them as a digest after")
    rate_limit: RateLimitModel | None = Field(default=None, description="fold alerts beyond max per period "
                                              "into a digest")


class SlackTargetModel(_TargetBase):
    """Slack: an incoming webhook (url), or a bot token and channel (story updates in threads)."""

    model_config = ConfigDict(title="Slack target")

    kind: Literal["slack"] = Field(description="the channel")
    url: str | None = Field(default=None, description="an incoming webhook URL")
    token: str | None = Field(default=None, description="a bot token instead of url (use ${VAR}); story "
                              "updates then go out as thread replies")
    channel: str | None = Field(default=None, description="with token: the channel id, e.g. C0123ABCD")
    api_url: str | None = Field(default=None, description="with token: the Web API base URL "
                                "(default https://slack.com/api)")


class WebhookTargetModel(_TargetBase):
    """A generic JSON webhook, optionally signed."""

    model_config = ConfigDict(title="Webhook target")

    kind: Literal["webhook"] = Field(description="the channel")
    url: str | None = Field(default=None, description="where to post")
    secret: str | None = Field(default=None, description="HMAC-SHA256 signing secret")


class EmailTargetModel(_TargetBase):
    """Email through an SMTP server."""

    model_config = ConfigDict(title="Email target")

    kind: Literal["email"] = Field(description="the channel")
    smtp: SmtpModel | None = Field(default=None, description="the SMTP server")
    from_: str | None = Field(default=None, alias="from", description="the sender address")
    to: list[str] = Field(default_factory=list, description="recipient addresses")


class AppriseTargetModel(_TargetBase):
    """Any service Apprise knows, by its URL."""

    model_config = ConfigDict(title="Apprise target")

    kind: Literal["apprise"] = Field(description="the channel")
    url: str | None = Field(default=None, description="an Apprise URL")


TargetModel = Annotated[SlackTargetModel | WebhookTargetModel | EmailTargetModel | AppriseTargetModel,
                        Field(discriminator="kind")]


class DeliveryModel(_Model):
    """How the outbox is drained."""

    every: Duration = Field(default=15, description="how often the outbox is drained")
    max_attempts: int = Field(default=8, ge=1, description="attempts before an alert is dead-lettered")
    retry_base: Duration = Field(default=60, description="wait before the first retry; doubles each time")
    backfill: DurationOrZero = Field(default=86400, ge=0, description="when a target comes on (start, reload), "
                                     "queue stories its watchlists matched this long before while it was off; "
                                     "0 turns it off")


class MetricsModel(_Model):
    """The Prometheus endpoint."""

    host: str = Field(default="127.0.0.1", description="address of /metrics and /healthz")
    port: int = Field(default=0, ge=0, le=65535, description="0 turns the endpoint off")


class RetentionModel(_Model):
    """How long data is kept, and how often it is pruned."""

    article_text_days: int = Field(default=90, ge=1, description="days article bodies are kept (title, URL, "
                                   "matches and stories are kept for ever)")
    deliveries_days: int = Field(default=30, ge=1, description="days the log of send attempts is kept")
    sent_days: int = Field(default=30, ge=1, description="days sent alerts, digests and thread replies stay in the "
                           "outbox after they went out and their story went quiet (a story never alerts twice)")
    signature_days: int = Field(default=7, ge=1, description="days the near-duplicate signatures of a quiet story "
                                "are kept (at least 3: a story takes new articles for 3 days)")
    prune_every: Duration = Field(default=21600, description="how often old data is pruned (6h by default)")
    vacuum_every: Duration = Field(default=604800, description="how often the database is compacted (7d)")


class OperationsModel(_Model):
    """Who hears about the daemon's own problems."""

    targets: list[str] = Field(default_factory=list, description="targets told about failing sources and "
                               "rejected config edits")
    source_failing_after: Duration = Field(default=21600, description="a source failing this long raises a "
                                           "notice (6h by default)")
    disable_after: Duration | None = Field(default=None, description="a source failing this long is switched "
                                           "off, with a notice, until `newswatch sources enable NAME` (off by "
                                           "default)")


def _attribute_docs(cls: type) -> dict[str, str]:
    """`name: text` lines of the Attributes section of a dataclass's docstring, joined per name."""
    docs: dict[str, str] = {}
    current = None
    for line in (cls.__doc__ or "").split("Attributes:", 1)[-1].splitlines():
        found = re.match(r"^\s{8}(\w+): (.*)$", line)
        if found:
            current = found.group(1)
            docs[current] = found.group(2)
        elif current and line.strip():
            docs[current] += " " + line.strip()
    return docs


def _crawl_type(value: Any, info: Any) -> Any:
    """The YAML value of a crawl option, checked against the type of its default as before pydantic coerces."""
    default = getattr(CrawlOptions(), info.field_name)
    value = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value  # YAML list
    if default is not None and not isinstance(value, type(default)) and not (
        isinstance(default, float) and isinstance(value, int)
    ):
        raise ValueError(f"expected {type(default).__name__}, got {value!r}")
    return value


def _crawl_model() -> type[BaseModel]:
    """A model of `crawler.CrawlOptions`, made from the dataclass so that a new option needs no edit here."""
    hints = typing.get_type_hints(CrawlOptions)
    docs = _attribute_docs(CrawlOptions)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], Field(default=f.default, description=docs.get(f.name, "")))
        for f in dataclasses.fields(CrawlOptions)
    }
    return create_model(
        "CrawlModel", __config__=ConfigDict(extra="forbid", frozen=True, title="Crawl options"),
        __doc__="Crawler options (crawler.CrawlOptions); CrawlOptions checks the values further.",
        __validators__={"_type": field_validator("*", mode="before")(_crawl_type)}, **fields)


CrawlModel = _crawl_model()


class FileModel(_Model):
    """config.yaml: sources to crawl, watchlists to match, targets to alert, and how the daemon runs."""

    model_config = ConfigDict(title="newswatch configuration")

    database: str = Field(default="newswatch.db", description="SQLite file (relative to config.yaml)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="log level")
    crawl: dict[str, Any] = Field(default_factory=dict, description="crawler options (see README)")
    delivery: DeliveryModel = Field(default_factory=DeliveryModel, description="outbox draining")
    metrics: MetricsModel = Field(default_factory=MetricsModel, description="Prometheus endpoint")
    retention: RetentionModel = Field(default_factory=RetentionModel, description="pruning and compaction")
    operations: OperationsModel = Field(default_factory=OperationsModel, description="who hears about "
                                        "the daemon's own problems")
    sources: list[SourceModel] = Field(default_factory=list, description="what to crawl")
    targets: list[TargetModel] = Field(default_factory=list, description="where alerts go")
    # Parsed by alerts (order-dependent checks, the rule language): see SchemaFileModel for their structure.
    watchlists: list[dict[str, Any]] = Field(default_factory=list, description="what to alert on")
    gazetteer: list[dict[str, Any]] = Field(default_factory=list, description="extra entities/aliases")
    web: WebModel = Field(default_factory=WebModel, description="the analyst workbench (newswatch web)")
    workers: WorkersModel = Field(default_factory=WorkersModel, description="crawl on worker machines "
                                  "through Redis (off by default; docs/workers.md)")


class _WatchlistFileModel(WatchlistModel):
    """A watchlist as the file holds it: its targets are names or route mappings."""

    targets: list[TargetRef] = Field(default_factory=list, description="target names (immediate alerts), or "
                                     "{target, digest, at, timezone, min_outlets} mappings (docs/alerts.md)")


class SchemaFileModel(FileModel):
    """The whole file, every section with its structure: the model `newswatch config schema` prints."""

    crawl: CrawlModel = Field(default_factory=CrawlModel, description="crawler options")  # type: ignore[valid-type]
    watchlists: list[_WatchlistFileModel] = Field(  # type: ignore[assignment]
        default_factory=list, description="what to alert on (docs/watchlists.md)")
    gazetteer: list[EntityModel] = Field(  # type: ignore[assignment]
        default_factory=list, description="extra entities, or extra aliases of shipped ones")
