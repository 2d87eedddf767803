"""Housekeeping that keeps the database flat over months: pruning and compaction.

Pruning empties the body text of old articles (titles, URLs, matches and stories stay, so `stories`
and `backtest` keep working on titles), forgets old seen URLs, and drops old send attempts, sent
outbox rows and the signatures of quiet stories (`alerts.prune_alerts`: what keeps a story from
alerting twice is never dropped); compaction rewrites the file to reclaim the freed pages. Both are
plain functions of a `Config`, run by the daemon's jobs and by `newswatch prune`.

Settings read: `retention.article_text_days`, `retention.deliveries_days`, `retention.sent_days`,
`retention.signature_days`, `crawl.seen_url_days`, `database`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alerts import prune_alerts
from crawler import compact, prune_article_text, prune_seen_urls
from scheduler.config import Config
from scheduler.schema import open_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PruneReport:
    articles_emptied: int
    seen_urls_forgotten: int
    database_bytes: int
    deliveries_dropped: int = 0  # send attempts older than retention.deliveries_days
    sent_dropped: int = 0  # sent outbox rows older than retention.sent_days
    signatures_dropped: int = 0  # story articles whose signatures were dropped


def database_bytes(config: Config) -> int:
    """Size of the database with its WAL and shared-memory files."""
    folder, name = config.database.parent, config.database.name
    return sum(p.stat().st_size for p in folder.glob(name + "*") if p.is_file())


def prune(config: Config, *, vacuum: bool = False) -> PruneReport:
    """Drop old article bodies, seen URLs, send attempts, sent alerts and story signatures.

    With `vacuum`, also compact the file.
    """
    retention = config.retention
    db = open_store(config.database)
    try:
        emptied = prune_article_text(db, retention.article_text_days)
        forgotten = prune_seen_urls(db, config.crawl.seen_url_days)
        alerts = prune_alerts(db, deliveries_days=retention.deliveries_days, sent_days=retention.sent_days,
                              signature_days=retention.signature_days)
        if vacuum:
            compact(db)
    finally:
        db.close()
    report = PruneReport(emptied, forgotten, database_bytes(config), alerts.deliveries, alerts.outbox,
                         alerts.signatures)
    logger.info("pruned %d article bodies and %d seen URLs%s; database is %.1f MB", emptied, forgotten,
                " and compacted" if vacuum else "", report.database_bytes / 1e6)
    return report
