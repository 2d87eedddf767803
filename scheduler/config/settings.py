"""The validated configuration: `Config` and the small settings values it carries.

What the daemon and the CLI work from once ``scheduler.config.load`` has checked the file; lower
layers get parts of it (a source, a target, the matcher), never the whole. Settings read: none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alerts import Gazetteer, Matcher, RouteSpec, TargetSpec, WatchlistSpec
from crawler import CrawlOptions, SourceSpec
from scheduler.web.settings import WebSettings
from scheduler.workers.settings import WorkersSettings


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
    disable_after_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True)
class Config:
    """A validated configuration: what the daemon and the CLI work from.

    `matcher` is the matcher compiled while the file was validated (compiling is how an unknown
    entity or an empty term is found); the daemon and the CLI use it instead of compiling again.
    """

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
    matcher: Matcher = field(repr=False, compare=False)
    # Watchlist name -> routes to all its targets, enabled or not, in `targets` order (alerts.delivery.routes).
    watchlist_routes: Mapping[str, tuple[RouteSpec, ...]] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)  # ${VAR} values: never shown (scheduler.redact)
    web: WebSettings = field(default_factory=WebSettings)  # the workbench (scheduler.web)
    workers: WorkersSettings = field(default_factory=WorkersSettings)  # scheduler.workers

    def routes(self) -> dict[str, tuple[RouteSpec, ...]]:
        """Watchlist name -> routes to its enabled targets (target name, digest schedule, min_outlets)."""
        return {w.name: tuple(r for r in self.watchlist_routes.get(w.name, ()) if r.target in self.targets)
                for w in self.watchlists}

    def source(self, name: str) -> SourceSpec:
        """The enabled source called `name`.

        Raises:
            KeyError: no enabled source has that name.
        """
        for spec in self.sources:
            if spec.name == name:
                return spec
        raise KeyError(name)
