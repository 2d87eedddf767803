"""newswatch's alerts: watchlists → matches → stories → deliveries.

Two halves and the seam between them:

- ``alerts.match`` is pure: it compiles watchlists and the gazetteer into one matcher and explains
  its verdicts. It imports no sqlite3, sqlite_utils, network or delivery code (tests/test_layout.py
  checks), so it can run anywhere: in the daemon, in the CLI's dry run, in a worker.
- ``alerts.delivery`` is the outbox and everything around it: routes, holding (quiet hours, digests,
  rate limits), shaping, composing messages from the store, and the worker that sends them through
  ``alerts.channels``.
- ``alerts.pipeline`` and ``alerts.stories`` are the only modules that join the two: they read new
  articles, match them, group them into stories and queue alerts.

Compiles watchlists and the gazetteer into one matcher, records matches with their evidence, groups
near-duplicate articles into stories, and delivers one alert per story and target through an outbox
(Slack, generic webhook, email). Knows nothing about Scrapy; reads articles through `crawler.store`.
Settings read: only what callers pass (watchlists, gazetteer entries, targets), and
``NEWSWATCH_PURE_PYTHON`` (see ``alerts.match.compiled``).
"""

# First: decides whether alerts.match.matcher is imported compiled or from source (see alerts.match.compiled).
import alerts.match.compiled  # noqa: F401
from alerts.delivery.backfill import BackfillReport, backfill_target, backfill_targets
from alerts.delivery.models import DigestSchedule, QuietHours, RateLimit, RouteSpec, SmtpSettings, TargetSpec
from alerts.delivery.outbox import delivery_latencies, enqueue_notice, outbox_summary, retry_dead
from alerts.delivery.retention import AlertsPruneReport, prune_alerts
from alerts.delivery.shaping import check_timezone, parse_clock
from alerts.delivery.worker import DeliveryReport, deliver_due, send_test_alert
from alerts.errors import AlertsError, DeliveryError, WatchlistError
from alerts.match.explain import format_matches
from alerts.match.gazetteer import Entity, Gazetteer, load_gazetteer
from alerts.match.matcher import Matcher, compile_matcher
from alerts.match.models import Document, Evidence, WatchlistMatch
from alerts.match.normalize import normalize
from alerts.match.watchlist import WatchlistSpec, parse_watchlists
from alerts.pipeline import ProcessReport, process_new_articles
from alerts.store import StorySummary, list_stories, open_store

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
    "open_store",
    "outbox_summary",
    "parse_clock",
    "parse_watchlists",
    "process_new_articles",
    "prune_alerts",
    "retry_dead",
    "send_test_alert",
]
