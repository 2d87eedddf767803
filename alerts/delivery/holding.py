"""Held alerts: digest rows that collect stories until they are due, and the rules that fill them.

A digest is an outbox row of kind ``digest`` in state ``collecting``; its `next_attempt_at` is when
it is due and ``outbox_items`` lists its (story, watchlist) entries with why each was held. Stories
get there three ways:

- at match time, a route with a digest schedule (`hold_alert()`, called by the pipeline inside its
  transaction): the entry joins the target's digest due exactly at the next slot;
- at delivery time, an untried alert row is folded into a digest (`fold_alert()`) when the target is
  in its quiet hours and the alert scores below `min_score`, or when the target's rate limit is used
  up (`hold_for()` decides). It joins the target's soonest digest due by then, or opens one due at
  the end of the quiet hours or when the rate window allows another message;
- a story already queued to the same target as an untried alert rides along in that alert instead.

`close_due_digests()` turns due digests into ordinary pending rows — all due digests of a target
merged into one message — except while the target is in quiet hours. Every change is one
transaction, and only rows nobody has tried to send are changed, so nothing is lost or sent twice.

Settings read: each target's `quiet_hours` and `rate_limit` (from the TargetSpecs passed in).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from alerts.delivery.models import TargetSpec
from alerts.delivery.outbox import OutboxEntry, already_recorded, merge_into_untried, new_key, record_triple
from alerts.delivery.shaping import breaks_through, in_quiet_hours, quiet_hours_end
from alerts.store import transaction
from crawler.timeutil import iso, parse_iso

logger = logging.getLogger(__name__)

REASONS = ("digest:daily", "digest:hourly", "quiet_hours", "rate_limit")


@dataclass(frozen=True, slots=True)
class Hold:
    """Where a held entry goes: the digest due at `due` (`exact`) or the soonest one due by then."""

    due: datetime
    reason: str  # one of REASONS
    timezone: str = "UTC"  # how the digest shows its times
    exact: bool = False


def _collecting_row(conn: sqlite3.Connection, target: str, hold: Hold, stamp: str) -> int:
    due = iso(hold.due)
    if hold.exact:
        row = conn.execute(
            "SELECT id FROM outbox WHERE target = ? AND kind = 'digest' AND status = 'collecting' "
            "AND next_attempt_at = ? ORDER BY id LIMIT 1", [target, due]).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM outbox WHERE target = ? AND kind = 'digest' AND status = 'collecting' "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1", [target, due]).fetchone()
    if row is not None:
        return int(row[0])
    cursor = conn.execute(
        "INSERT INTO outbox (story_id, target, kind, watchlists, status, attempts, next_attempt_at, "
        "idempotency_key, created_at, updated_at, due_at, tz) "
        "VALUES (0, ?, 'digest', '[]', 'collecting', 0, ?, ?, ?, ?, ?, ?)",
        [target, due, new_key(), stamp, stamp, due, hold.timezone],
    )
    logger.debug("holding: digest row %d opened for target %s, due %s (%s)", cursor.lastrowid, target, due,
                 hold.reason)
    return int(cursor.lastrowid or 0)


def _refresh_watchlists(conn: sqlite3.Connection, outbox_id: int, stamp: str) -> None:
    names = sorted({r[0] for r in conn.execute("SELECT watchlist FROM outbox_items WHERE outbox_id = ?",
                                                [outbox_id]).fetchall()})
    conn.execute("UPDATE outbox SET watchlists = ?, updated_at = ? WHERE id = ?",
                 [json.dumps(names), stamp, outbox_id])


def _add_item(conn: sqlite3.Connection, outbox_id: int, story_id: int, watchlist: str, article_id: int | None,
              reason: str, stamp: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO outbox_items (outbox_id, story_id, watchlist, article_id, reason, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", [outbox_id, story_id, watchlist, article_id, reason, stamp])


def hold_alert(conn: sqlite3.Connection, story_id: int, watchlist: str, target: str, article_id: int,
               now: datetime, hold: Hold) -> bool:
    """Record (story, watchlist, target) in a digest instead of an alert. Call inside `transaction()`.

    Args:
        conn: the connection of the open transaction.
        story_id: the story.
        watchlist: the watchlist that matched.
        target: the target name.
        article_id: the article that caused it.
        now: the current time.
        hold: which digest it goes into.

    Returns:
        True when the triple was new (held, or riding along an untried alert of the same story);
        False when it was already recorded.
    """
    stamp = iso(now)
    if already_recorded(conn, story_id, watchlist, target):
        return False
    outbox_id = merge_into_untried(conn, story_id, watchlist, target, stamp)
    if outbox_id is None:
        outbox_id = _collecting_row(conn, target, hold, stamp)
        _add_item(conn, outbox_id, story_id, watchlist, article_id, hold.reason, stamp)
        _refresh_watchlists(conn, outbox_id, stamp)
    record_triple(conn, story_id, watchlist, target, outbox_id, stamp)
    logger.debug("holding: story %d, watchlist %s held for target %s in row %d (%s)", story_id, watchlist,
                 target, outbox_id, hold.reason)
    return True


def _row_score(db: sqlite_utils.Database, entry: OutboxEntry) -> float:
    if not entry.watchlists:
        return 0.0
    marks = ", ".join("?" * len(entry.watchlists))
    row = db.execute(f"SELECT max(score) FROM matches WHERE story_id = ? AND watchlist IN ({marks})",
                     [entry.story_id, *entry.watchlists]).fetchone()
    return float(row[0] or 0.0)


def hold_for(db: sqlite_utils.Database, entry: OutboxEntry, spec: TargetSpec, now: datetime) -> Hold | None:
    """Whether an untried alert row must be held rather than sent now, and until when.

    Quiet hours hold an alert scoring below the target's `min_score` until they end; a used-up
    rate limit holds it until the oldest message in the window leaves it. Digests and notices, and
    alerts someone has already tried to send, are never held.

    Returns:
        The Hold, or None to send the row now.
    """
    if entry.kind != "alert" or entry.attempts or entry.first_tried_at is not None:
        return None
    quiet = spec.quiet_hours
    timezone = quiet.timezone if quiet else "UTC"
    if quiet is not None and in_quiet_hours(quiet, now) and not breaks_through(quiet, _row_score(db, entry)):
        return Hold(quiet_hours_end(quiet, now), "quiet_hours", timezone)
    limit = spec.rate_limit
    if limit is not None:
        window = timedelta(seconds=limit.per_seconds)
        count, oldest = db.execute(
            "SELECT count(*), min(first_tried_at) FROM outbox WHERE target = ? AND kind = 'alert' "
            "AND first_tried_at > ?", [entry.target, iso(now - window)]).fetchone()
        if count >= limit.max:
            return Hold(parse_iso(oldest) + window, "rate_limit", timezone)
    return None


def fold_alert(db: sqlite_utils.Database, entry: OutboxEntry, hold: Hold, now: datetime) -> bool:
    """Move an untried alert row into a digest, in one transaction.

    Returns:
        True when folded; False when the row changed meanwhile (another worker took it).
    """
    stamp = iso(now)
    with transaction(db) as conn:
        moved = conn.execute(
            "UPDATE outbox SET status = 'folded', updated_at = ? WHERE id = ? AND status = 'pending' "
            "AND attempts = 0 AND first_tried_at IS NULL", [stamp, entry.id]).rowcount
        if moved != 1:
            return False
        digest_id = _collecting_row(conn, entry.target, hold, stamp)
        for watchlist in entry.watchlists:
            _add_item(conn, digest_id, entry.story_id, watchlist, entry.article_id, hold.reason, stamp)
        conn.execute("UPDATE story_alerts SET outbox_id = ? WHERE outbox_id = ?", [digest_id, entry.id])
        _refresh_watchlists(conn, digest_id, stamp)
    logger.info("holding: story %d to target %s held until %s (%s)", entry.story_id, entry.target,
                iso(hold.due), hold.reason.replace("_", " "))
    return True


def close_due_digests(db: sqlite_utils.Database, targets: Mapping[str, TargetSpec], now: datetime) -> int:
    """Make every due digest sendable: one pending row per target, merging digests due together.

    A target in its quiet hours keeps its due digests collecting until the quiet hours end.

    Args:
        db: the store.
        targets: target name → TargetSpec (for quiet hours; digests of unknown targets close too and
            wait like any pending row).
        now: the current time.

    Returns:
        How many digest rows became pending.
    """
    stamp = iso(now)
    due_targets = [r[0] for r in db.execute(
        "SELECT DISTINCT target FROM outbox WHERE kind = 'digest' AND status = 'collecting' "
        "AND next_attempt_at <= ? ORDER BY target", [stamp]).fetchall()]
    closed = 0
    for target in due_targets:
        spec = targets.get(target)
        if spec is not None and spec.quiet_hours is not None and in_quiet_hours(spec.quiet_hours, now):
            logger.debug("holding: digest for target %s waits for the end of its quiet hours", target)
            continue
        with transaction(db) as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM outbox WHERE target = ? AND kind = 'digest' AND status = 'collecting' "
                "AND next_attempt_at <= ? ORDER BY id", [target, stamp]).fetchall()]
            if not ids:
                continue
            keep = ids[0]
            for other in ids[1:]:
                conn.execute("UPDATE outbox_items SET outbox_id = ? WHERE outbox_id = ?", [keep, other])
                conn.execute("UPDATE story_alerts SET outbox_id = ? WHERE outbox_id = ?", [keep, other])
                conn.execute("UPDATE outbox SET status = 'folded', updated_at = ? WHERE id = ?", [stamp, other])
            _refresh_watchlists(conn, keep, stamp)
            conn.execute("UPDATE outbox SET status = 'pending', updated_at = ? WHERE id = ?", [stamp, keep])
            count = conn.execute("SELECT count(DISTINCT story_id) FROM outbox_items WHERE outbox_id = ?",
                                 [keep]).fetchone()[0]
        closed += 1
        logger.info("holding: digest of %d stories for target %s is due (row %d)", count, target, keep)
    return closed
