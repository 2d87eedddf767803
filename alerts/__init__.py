"""newswatch's alerts: watchlists → matches → stories → deliveries.

Compiles watchlists and the gazetteer into one matcher, records matches with their evidence, groups
near-duplicate articles into stories, and delivers one alert per story and target through an outbox
(Slack, generic webhook, email). Knows nothing about Scrapy; reads articles through `crawler.store`.
Settings read: only what callers pass (watchlists, gazetteer entries, targets), and
``NEWSWATCH_PURE_PYTHON`` (see ``alerts.compiled``).
"""

# First: decides whether alerts.matcher is imported compiled or from source (see alerts.compiled).
import alerts.compiled  # noqa: F401
from alerts.backfill import BackfillReport, backfill_target, backfill_targets
from alerts.delivery import DeliveryReport, deliver_due, send_test_alert
from alerts.errors import AlertsError, DeliveryError, WatchlistError
from alerts.explain import format_matches
from alerts.gazetteer import Entity, Gazetteer, load_gazetteer
from alerts.matcher import Matcher, compile_matcher
from alerts.models import (
    DigestSchedule,
    Document,
    Evidence,
    QuietHours,
    RateLimit,
    RouteSpec,
    SmtpSettings,
    TargetSpec,
    WatchlistMatch,
)
from alerts.normalize import normalize
from alerts.outbox import delivery_latencies, enqueue_notice, outbox_summary, retry_dead
from alerts.pipeline import ProcessReport, process_new_articles
from alerts.retention import AlertsPruneReport, prune_alerts
from alerts.shaping import check_timezone, parse_clock
from alerts.store import StorySummary, list_stories
from alerts.watchlist import WatchlistSpec, parse_watchlists

__all__ = [
    "AlertsError",
    "AlertsPruneReport",
    "BackfillReport",
    "DeliveryError",
    "DeliveryReport",
    "DigestSchedule",
    "Document",
    "Entity",
    "Evidence",
    "Gazetteer",
    "Matcher",
    "ProcessReport",
    "QuietHours",
    "RateLimit",
    "RouteSpec",
    "SmtpSettings",
    "StorySummary",
    "TargetSpec",
    "WatchlistError",
    "WatchlistMatch",
    "WatchlistSpec",
    "backfill_target",
    "backfill_targets",
    "check_timezone",
    "compile_matcher",
    "deliver_due",
    "delivery_latencies",
    "enqueue_notice",
    "format_matches",
    "list_stories",
    "load_gazetteer",
    "normalize",
    "outbox_summary",
    "parse_clock",
    "parse_watchlists",
    "process_new_articles",
    "prune_alerts",
    "retry_dead",
    "send_test_alert",
]
