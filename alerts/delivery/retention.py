"""Retention for the alerts tables: old send attempts, sent outbox rows and story signatures go.

Without it a daemon running for months keeps a `deliveries` row per send attempt, every sent outbox
row and two MinHash signatures (about 1 KB) per matched article, for ever. `prune_alerts()` drops:

- ``deliveries`` rows (the send-attempt log) started more than `deliveries_days` ago;
- ``outbox`` rows that were sent (``delivered``) or folded into a digest more than `sent_days` ago,
  whose story has been quiet as long (a story still taking articles keeps its alert: a Slack thread
  reply needs it), and that no unsent story update replies under; with their digest ``outbox_items``.
  Notices are kept (few, and their key stops a repeated notice); ``pending`` and ``dead`` rows are
  always kept (`alerts retry` revives the dead);
- the signatures in ``story_articles`` of stories quiet for more than `signature_days` (never less
  than `alerts.stories.WINDOW`, the time a story accepts new articles): the article → story link
  stays, only the bytes used to find near-duplicates go.

What keeps a story from alerting twice is ``story_alerts`` (one row per story, watchlist and target
ever queued), not the outbox row: it is never pruned, so an old story's new outlet or a restart's
backfill does not alert again after its outbox row is gone. Its rows are a few dozen bytes.

Settings read: none; `scheduler.maintenance` passes `retention.*`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from alerts.store import transaction
from alerts.stories import WINDOW
from crawler.timeutil import iso, now_utc

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertsPruneReport:
    """What `prune_alerts()` removed."""

    deliveries: int = 0  # send-attempt rows deleted
    outbox: int = 0  # sent or folded outbox rows deleted
    signatures: int = 0  # story_articles rows whose signatures were dropped


def prune_alerts(db: sqlite_utils.Database, *, deliveries_days: float, sent_days: float,
                 signature_days: float, now: datetime | None = None) -> AlertsPruneReport:
    """Delete old send attempts and sent outbox rows, and drop old story signatures.

    Args:
        db: the store.
        deliveries_days: keep send attempts this many days.
        sent_days: keep delivered or folded outbox rows (and their digest items) this many days
            after they were sent and their story went quiet.
        signature_days: keep the near-duplicate signatures of stories quiet for less than this
            (raised to the story window, 3 days, if lower).
        now: the current time (tests drive the clock with it).

    Returns:
        An AlertsPruneReport with the counts.
    """
    clock = now or now_utc()
    attempts_before = iso(clock - timedelta(days=deliveries_days))
    sent_before = iso(clock - timedelta(days=sent_days))
    quiet_before = iso(clock - max(timedelta(days=signature_days), WINDOW))
    with transaction(db) as conn:
        deliveries = conn.execute("DELETE FROM deliveries WHERE started_at < ?", [attempts_before]).rowcount
        outbox = conn.execute(
            "DELETE FROM outbox WHERE status IN ('delivered', 'folded') AND kind IN ('alert', 'digest', 'update') "
            "AND coalesce(delivered_at, updated_at, created_at) < ? "
            "AND story_id NOT IN (SELECT id FROM stories WHERE last_seen >= ?) "
            "AND id NOT IN (SELECT parent_id FROM outbox WHERE kind = 'update' AND parent_id IS NOT NULL "
            "AND status NOT IN ('delivered', 'folded'))",
            [sent_before, sent_before],
        ).rowcount
        if outbox:
            conn.execute("DELETE FROM outbox_items WHERE outbox_id NOT IN (SELECT id FROM outbox)")
        signatures = conn.execute(
            "UPDATE story_articles SET signature = NULL, title_signature = NULL "
            "WHERE (signature IS NOT NULL OR title_signature IS NOT NULL) "
            "AND story_id IN (SELECT id FROM stories WHERE last_seen < ?)", [quiet_before],
        ).rowcount
    report = AlertsPruneReport(deliveries, outbox, signatures)
    logger.info("pruned %d send attempts, %d sent outbox rows and the signatures of %d story articles",
                deliveries, outbox, signatures)
    return report
