"""The outbox: messages waiting to be sent, written in the same transaction as the match.

One outbox row is one message for one story to one target; it names every watchlist of that story
routed to that target (the seed story matching `maritime-disputes` and `arms-deals` is one Slack
message naming both). The promise "never sent twice for the same (story, watchlist, target)" is kept
by `story_alerts`, whose primary key is exactly that triple: `enqueue_alert()` inserts a triple once
and either adds its watchlist to a row of the same story and target that has not been tried yet, or
opens a new row. A row someone has started sending (`attempts > 0`) is never changed, so the text a
receiver may already have seen under an idempotency key never changes.

Row states: ``pending`` → ``delivered`` | ``dead`` (dead → pending again with `retry_dead()`).

Settings read: none.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from alerts.store import ensure_alerts_schema, iso, now_utc, row_dict, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox row as the delivery worker reads it."""

    id: int
    story_id: int
    target: str
    kind: str
    watchlists: tuple[str, ...]
    article_id: int | None
    status: str
    attempts: int
    next_attempt_at: str
    idempotency_key: str
    created_at: str


def _entry(row: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"], story_id=row["story_id"], target=row["target"], kind=row["kind"],
        watchlists=tuple(json.loads(row["watchlists"])), article_id=row["article_id"],
        status=row["status"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        idempotency_key=row["idempotency_key"], created_at=row["created_at"],
    )


def enqueue_alert(conn: sqlite3.Connection, story_id: int, watchlist: str, target: str,
                  article_id: int, now: datetime) -> bool:
    """Record that (story, watchlist, target) is to be alerted, once. Call inside `transaction()`.

    Args:
        conn: the connection of the open transaction.
        story_id: the story.
        watchlist: the watchlist that matched.
        target: the target name the watchlist routes to.
        article_id: the article that caused the alert.
        now: the current time.

    Returns:
        True when a new outbox row was opened; False when the triple was already recorded or its
        watchlist was added to an untried row of the same story and target.
    """
    stamp = iso(now)
    known = conn.execute(
        "SELECT 1 FROM story_alerts WHERE story_id = ? AND watchlist = ? AND target = ?",
        [story_id, watchlist, target],
    ).fetchone()
    if known:
        return False
    row = conn.execute(
        "SELECT id, watchlists FROM outbox WHERE story_id = ? AND target = ? AND kind = 'alert' "
        "AND status = 'pending' AND attempts = 0 ORDER BY id DESC LIMIT 1",
        [story_id, target],
    ).fetchone()
    created = row is None
    if row is not None:
        outbox_id = row[0]
        names = sorted({*json.loads(row[1]), watchlist})
        conn.execute("UPDATE outbox SET watchlists = ?, updated_at = ? WHERE id = ?",
                     [json.dumps(names), stamp, outbox_id])
    else:
        cursor = conn.execute(
            "INSERT INTO outbox (story_id, target, kind, watchlists, article_id, status, attempts, "
            "next_attempt_at, idempotency_key, created_at, updated_at) "
            "VALUES (?, ?, 'alert', ?, ?, 'pending', 0, ?, ?, ?, ?)",
            [story_id, target, json.dumps([watchlist]), article_id, stamp,
             f"nw-{uuid.uuid4().hex}", stamp, stamp],
        )
        outbox_id = int(cursor.lastrowid or 0)
    conn.execute(
        "INSERT INTO story_alerts (story_id, watchlist, target, outbox_id, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [story_id, watchlist, target, outbox_id, stamp],
    )
    logger.debug("outbox: story %d, watchlist %s queued for target %s (row %d)",
                 story_id, watchlist, target, outbox_id)
    return created


def pending_entries(db: sqlite_utils.Database) -> list[OutboxEntry]:
    """Every pending row, oldest first (the delivery worker groups them by target)."""
    cursor = db.execute("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id")
    return [_entry(row_dict(cursor, r)) for r in cursor.fetchall()]


def claim(db: sqlite_utils.Database, entry: OutboxEntry, now: datetime, lease_until: datetime) -> bool:
    """Take a due row for one send attempt: count the attempt and push its due time to `lease_until`.

    If the process dies during the send, the row becomes due again when the lease ends, so nothing
    is lost. Returns False when the row is no longer pending and due (another worker took it).
    """
    with transaction(db) as conn:
        cursor = conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ? "
            "WHERE id = ? AND status = 'pending' AND attempts = ? AND next_attempt_at <= ?",
            [iso(lease_until), iso(now), entry.id, entry.attempts, iso(now)],
        )
        return cursor.rowcount == 1


def record_attempt(db: sqlite_utils.Database, entry: OutboxEntry, *, now: datetime, outcome: str,
                   status: int | None = None, error: str | None = None, retry_after: float | None = None,
                   next_attempt_at: datetime | None = None) -> None:
    """Store the result of one attempt and move the row to its next state.

    Args:
        outcome: ``delivered``, ``retry`` (pending again at `next_attempt_at`) or ``dead``.
        status: HTTP status or SMTP code, if any.
        error: a message already scrubbed of secrets.
    """
    stamp = iso(now)
    attempt = entry.attempts + 1
    with transaction(db) as conn:
        conn.execute(
            "INSERT INTO deliveries (outbox_id, target, attempt, started_at, outcome, status, "
            "retry_after, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [entry.id, entry.target, attempt, stamp, outcome, status, retry_after, error],
        )
        if outcome == "delivered":
            conn.execute(
                "UPDATE outbox SET status = 'delivered', delivered_at = ?, updated_at = ?, last_status = ?, "
                "last_error = NULL WHERE id = ?", [stamp, stamp, status, entry.id])
        elif outcome == "dead":
            conn.execute(
                "UPDATE outbox SET status = 'dead', updated_at = ?, last_status = ?, last_error = ? "
                "WHERE id = ?",
                [stamp, status, error, entry.id])
        else:
            conn.execute(
                "UPDATE outbox SET next_attempt_at = ?, updated_at = ?, last_status = ?, last_error = ? "
                "WHERE id = ?", [iso(next_attempt_at or now), stamp, status, error, entry.id])


def retry_dead(db: sqlite_utils.Database, target: str | None = None) -> int:
    """Put dead-lettered rows back in the queue, due now, with a fresh attempt count.

    Args:
        db: the store.
        target: only this target's rows; all targets when None.

    Returns:
        How many rows were revived.
    """
    ensure_alerts_schema(db)
    stamp = iso(now_utc())
    sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? " \
          "WHERE status = 'dead'"
    params: list[Any] = [stamp, stamp]
    if target is not None:
        sql += " AND target = ?"
        params.append(target)
    with transaction(db) as conn:
        count = conn.execute(sql, params).rowcount
    logger.info("outbox: %d dead alerts queued again (target %s)", count, target or "all")
    return count


def outbox_summary(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """Counts per target and state, for `newswatch status`.

    Returns:
        ``{target: {"pending": n, "delivered": n, "dead": n, "oldest_pending": iso | None,
        "last_error": str | None}}``; last_error is already free of secrets.
    """
    ensure_alerts_schema(db)
    summary: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"pending": 0, "delivered": 0, "dead": 0, "oldest_pending": None, "last_error": None})
    for target, status, count, oldest in db.execute(
        "SELECT target, status, count(*), min(created_at) FROM outbox GROUP BY target, status"
    ).fetchall():
        summary[target][status] = count
        if status == "pending":
            summary[target]["oldest_pending"] = oldest
    for target, error in db.execute(
        "SELECT target, last_error FROM outbox WHERE last_error IS NOT NULL AND status != 'delivered' "
        "ORDER BY updated_at"
    ).fetchall():
        summary[target]["last_error"] = error
    return dict(summary)
