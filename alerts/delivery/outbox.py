"""The outbox: messages waiting to be sent, written in the same transaction as the match.

A row is one message to one target, of one of four kinds:

- ``alert`` — one story, naming every watchlist of that story routed to that target (the seed story
  matching `maritime-disputes` and `arms-deals` is one Slack message naming both);
- ``digest`` — many stories in one message, listed in ``outbox_items`` (see `alerts.delivery.holding`);
- ``notice`` — an operations message (`enqueue_notice()`: a source failing, a config rejected);
- ``update`` — a story update: a later article of a story already alerted to a target that can reply
  in a thread (Slack in bot-token mode), sent as a reply under that alert ("Also reported by …").

Story updates are queued once per (story, article, target) — a unique index says so — from two
places, so that no article falls between them: `queue_story_updates()`, in the pipeline's
transaction when an article joins a story whose alert was already delivered with a Slack `ts`; and
`record_attempt()`, in the transaction that records such an alert as delivered, for the articles
that joined after the alert's text was composed (`covered_article_id`) but before it was recorded.
An article that joins while the story's alert to that target is still untried needs no update: the
alert, composed when it is sent, already names every outlet.
The promise "never sent twice for the same (story, watchlist, target)" is kept by `story_alerts`,
whose primary key is exactly that triple: `enqueue_alert()` inserts a triple once and either adds its
watchlist to a row of the same story and target that has not been tried yet, or opens a new row. A
row someone has started sending (`first_tried_at` set) is never changed, so the text a receiver may
already have seen under an idempotency key never changes. Notices are kept once per (target, key).

Row states: ``collecting`` (a digest still taking stories) → ``pending`` → ``delivered`` | ``dead``
(dead → pending again with `retry_dead()`); an untried alert or digest row folded into another
digest becomes ``folded``; an untried row of a story an analyst muted becomes ``muted``
(`alerts.feedback`).

Settings read: none.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from alerts.delivery.models import Receipt
from alerts.feedback import withhold_muted
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
    first_tried_at: str | None = None
    due_at: str | None = None  # digests
    tz: str | None = None  # digests
    subject: str | None = None  # notices
    body: str | None = None  # notices
    notice_key: str | None = None  # notices
    parent_id: int | None = None  # story updates: the alert row they reply under


def _entry(row: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"], story_id=row["story_id"], target=row["target"], kind=row["kind"],
        watchlists=tuple(json.loads(row["watchlists"])), article_id=row["article_id"],
        status=row["status"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        idempotency_key=row["idempotency_key"], created_at=row["created_at"],
        first_tried_at=row.get("first_tried_at"), due_at=row.get("due_at"), tz=row.get("tz"),
        subject=row.get("subject"), body=row.get("body"), notice_key=row.get("notice_key"),
        parent_id=row.get("parent_id"),
    )


def new_key() -> str:
    """A fresh idempotency key (``nw-`` + 32 hex digits)."""
    return f"nw-{uuid.uuid4().hex}"


def already_recorded(conn: sqlite3.Connection, story_id: int, watchlist: str, target: str) -> bool:
    """Whether (story, watchlist, target) was ever queued, in any message."""
    return conn.execute(
        "SELECT 1 FROM story_alerts WHERE story_id = ? AND watchlist = ? AND target = ?",
        [story_id, watchlist, target],
    ).fetchone() is not None


def merge_into_untried(conn: sqlite3.Connection, story_id: int, watchlist: str, target: str,
                       stamp: str) -> int | None:
    """Add `watchlist` to an alert row of the same story and target nobody has tried to send yet.

    Returns:
        The row's id, or None when there is no such row (nothing changed).
    """
    row = conn.execute(
        "SELECT id, watchlists FROM outbox WHERE story_id = ? AND target = ? AND kind = 'alert' "
        "AND status = 'pending' AND attempts = 0 AND first_tried_at IS NULL ORDER BY id DESC LIMIT 1",
        [story_id, target],
    ).fetchone()
    if row is None:
        return None
    names = sorted({*json.loads(row[1]), watchlist})
    conn.execute("UPDATE outbox SET watchlists = ?, updated_at = ? WHERE id = ?",
                 [json.dumps(names), stamp, row[0]])
    return int(row[0])


def record_triple(conn: sqlite3.Connection, story_id: int, watchlist: str, target: str, outbox_id: int,
                  stamp: str) -> None:
    """Remember that (story, watchlist, target) is queued in row `outbox_id` (call once per triple)."""
    conn.execute(
        "INSERT INTO story_alerts (story_id, watchlist, target, outbox_id, created_at) VALUES (?, ?, ?, ?, ?)",
        [story_id, watchlist, target, outbox_id, stamp],
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
    if already_recorded(conn, story_id, watchlist, target):
        return False
    outbox_id = merge_into_untried(conn, story_id, watchlist, target, stamp)
    created = outbox_id is None
    if outbox_id is None:
        cursor = conn.execute(
            "INSERT INTO outbox (story_id, target, kind, watchlists, article_id, status, attempts, "
            "next_attempt_at, idempotency_key, created_at, updated_at) "
            "VALUES (?, ?, 'alert', ?, ?, 'pending', 0, ?, ?, ?, ?)",
            [story_id, target, json.dumps([watchlist]), article_id, stamp, new_key(), stamp, stamp],
        )
        outbox_id = int(cursor.lastrowid or 0)
    record_triple(conn, story_id, watchlist, target, outbox_id, stamp)
    logger.debug("outbox: story %d, watchlist %s queued for target %s (row %d)",
                 story_id, watchlist, target, outbox_id)
    return created


def _has_untried_alert(conn: sqlite3.Connection, story_id: int, target: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM outbox WHERE story_id = ? AND target = ? AND kind = 'alert' AND status = 'pending' "
        "AND first_tried_at IS NULL", [story_id, target]).fetchone() is not None


def queue_update(conn: sqlite3.Connection, parent_id: int, story_id: int, target: str, article_id: int,
                 stamp: str) -> bool:
    """Queue a story update (a thread reply under outbox row `parent_id`) once per (story, article, target).

    Skipped while the story has an untried alert to the target: that alert will name the outlet.
    Call inside `transaction()`.

    Returns:
        True when a row was queued.
    """
    if _has_untried_alert(conn, story_id, target):
        return False
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbox (story_id, target, kind, watchlists, article_id, status, attempts, "
        "next_attempt_at, idempotency_key, created_at, updated_at, parent_id) "
        "SELECT story_id, target, 'update', watchlists, ?, 'pending', 0, ?, ?, ?, ?, id FROM outbox WHERE id = ?",
        [article_id, stamp, new_key(), stamp, stamp, parent_id],
    )
    if cursor.rowcount:
        logger.debug("outbox: story %d update for article %d queued for target %s (reply under row %d)",
                     story_id, article_id, target, parent_id)
    return cursor.rowcount == 1


def queue_story_updates(conn: sqlite3.Connection, story_id: int, article_id: int, now: datetime) -> int:
    """Queue a story update for each target whose alert of this story went out with a Slack `ts`.

    Called by the pipeline, inside its transaction, when article `article_id` joins story `story_id`.

    Returns:
        How many update rows were queued.
    """
    stamp = iso(now)
    parents = conn.execute(
        "SELECT target, min(id) FROM outbox WHERE story_id = ? AND kind = 'alert' AND status = 'delivered' "
        "AND slack_ts IS NOT NULL GROUP BY target ORDER BY target", [story_id]).fetchall()
    return sum(queue_update(conn, parent_id, story_id, target, article_id, stamp) for target, parent_id in parents)


def enqueue_notice(db: sqlite_utils.Database, targets: Sequence[str], *, key: str, subject: str, text: str,
                   now: datetime | None = None) -> int:
    """Queue an operations notice (plain subject and text) for each of `targets`, once per key.

    Notices go through the same outbox as alerts (retries, backoff, dead-letter, in order behind
    earlier messages to the same target) but are never held by quiet hours, rate limits or digests.
    A key already queued for a target is skipped, so a caller may repeat itself safely: use a key
    that names the event, e.g. ``source-failing:kyodo:2024-06-01T08:00:00+00:00``.

    Args:
        db: the store.
        targets: target names to tell.
        key: what makes this notice unique (per target); at most 200 characters.
        subject: one line (the email subject, the Slack heading).
        text: the message; plain text, several lines allowed.
        now: the current time (tests drive the clock with it); defaults to the system clock.

    Returns:
        How many rows were queued (targets that already had this key are not counted).

    Raises:
        ValueError: an empty or over-long key.
    """
    if not key or len(key) > 200:
        raise ValueError(f"a notice key must be 1 to 200 characters, got {len(key)}")
    ensure_alerts_schema(db)
    stamp = iso(now or now_utc())
    queued = 0
    with transaction(db) as conn:
        for target in dict.fromkeys(targets):
            cursor = conn.execute(
                "INSERT OR IGNORE INTO outbox (story_id, target, kind, watchlists, status, attempts, "
                "next_attempt_at, idempotency_key, created_at, updated_at, notice_key, subject, body) "
                "VALUES (0, ?, 'notice', '[]', 'pending', 0, ?, ?, ?, ?, ?, ?, ?)",
                [target, stamp, new_key(), stamp, stamp, key, subject, text],
            )
            queued += cursor.rowcount
    if queued:
        logger.info("outbox: notice %s queued for %d targets", key, queued)
    return queued


def pending_entries(db: sqlite_utils.Database) -> list[OutboxEntry]:
    """Every pending row, oldest first (the delivery worker groups them by target).

    Untried rows of muted stories are withdrawn first (`alerts.feedback.withhold_muted`).
    """
    withhold_muted(db)
    cursor = db.execute("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id")
    return [_entry(row_dict(cursor, r)) for r in cursor.fetchall()]


def claim(db: sqlite_utils.Database, entry: OutboxEntry, now: datetime, lease_until: datetime) -> bool:
    """Take a due row for one send attempt: count the attempt and push its due time to `lease_until`.

    If the process dies during the send, the row becomes due again when the lease ends, so nothing
    is lost. Returns False when the row is no longer pending and due (another worker took it).
    """
    with transaction(db) as conn:
        cursor = conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?, "
            "first_tried_at = coalesce(first_tried_at, ?), lease_owner = ? "
            "WHERE id = ? AND status = 'pending' AND attempts = ? AND next_attempt_at <= ?",
            [iso(lease_until), iso(now), iso(now), _LEASE_OWNER, entry.id, entry.attempts, iso(now)],
        )
        return cursor.rowcount == 1


def _process_start(pid: int) -> str:
    """The kernel's start time of `pid` (Linux), so a reused pid is not mistaken for the owner."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: compare start times below
    return not start or _process_start(pid) == start


_LEASE_OWNER = f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def release_stale_leases(db: sqlite_utils.Database, now: datetime) -> int:
    """Make rows claimed by a process that has died due again now, instead of when their lease ends.

    A send cut off by a crash leaves its row leased (up to `delivery.LEASE`); since a target's rows go
    out in order, that would hold back every later alert of the target (found by bench/kill_test.py).
    Only leases of processes on this host that are gone are released, so a live sender is never
    doubled. Returns how many rows were released.
    """
    host = socket.gethostname()
    stale = []
    for row_id, owner in db.conn.execute(
            "SELECT id, lease_owner FROM outbox WHERE status = 'pending' AND lease_owner IS NOT NULL").fetchall():
        owner_host, _, rest = str(owner).partition(":")
        pid_text, _, start = rest.partition(":")
        if owner_host == host and pid_text.isdigit() and not _alive(int(pid_text), start):
            stale.append(row_id)
    if not stale:
        return 0
    with transaction(db) as conn:
        conn.executemany("UPDATE outbox SET next_attempt_at = ?, lease_owner = NULL WHERE id = ? AND lease_owner "
                         "IS NOT NULL AND status = 'pending'", [(iso(now), row_id) for row_id in stale])
    logger.warning("released %d alert(s) left mid-send by a process that died; sending them now", len(stale))
    return len(stale)


def record_attempt(db: sqlite_utils.Database, entry: OutboxEntry, *, now: datetime, outcome: str,
                   status: int | None = None, error: str | None = None, retry_after: float | None = None,
                   next_attempt_at: datetime | None = None, receipt: Receipt | None = None,
                   covered_article_id: int | None = None) -> None:
    """Store the result of one attempt and move the row to its next state.

    Args:
        outcome: ``delivered``, ``retry`` (pending again at `next_attempt_at`) or ``dead``.
        status: HTTP status or SMTP code, if any.
        error: a message already scrubbed of secrets.
        receipt: delivered through Slack's Web API: the message's ts and channel, kept on the row.
        covered_article_id: an alert delivered with a receipt: the story's newest article when its
            text was composed; articles that joined the story since get a story update queued.
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
            if receipt is not None:
                conn.execute("UPDATE outbox SET slack_ts = ?, slack_channel = ?, covered_article_id = ? "
                             "WHERE id = ?", [receipt.ts, receipt.channel, covered_article_id, entry.id])
                if entry.kind == "alert" and covered_article_id is not None:
                    for (article_id,) in conn.execute(
                        "SELECT article_id FROM story_articles WHERE story_id = ? AND article_id > ? "
                        "ORDER BY article_id", [entry.story_id, covered_article_id]).fetchall():
                        queue_update(conn, entry.id, entry.story_id, entry.target, article_id, stamp)
        elif outcome == "dead":
            conn.execute(
                "UPDATE outbox SET status = 'dead', updated_at = ?, last_status = ?, last_error = ? "
                "WHERE id = ?",
                [stamp, status, error, entry.id])
        else:
            conn.execute(
                "UPDATE outbox SET next_attempt_at = ?, updated_at = ?, last_status = ?, last_error = ? "
                "WHERE id = ?", [iso(next_attempt_at or now), stamp, status, error, entry.id])
        conn.execute("UPDATE outbox SET lease_owner = NULL WHERE id = ?", [entry.id])


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
        ``{target: {"pending": n, "held": n, "delivered": n, "dead": n, "oldest_pending": iso | None,
        "last_error": str | None}}``; ``held`` counts digests still collecting stories; last_error is
        already free of secrets. Rows folded into a digest are not counted (their digest is); rows
        withdrawn because their story was muted appear as ``"muted": n`` when there are any.
    """
    ensure_alerts_schema(db)
    summary: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"pending": 0, "held": 0, "delivered": 0, "dead": 0, "oldest_pending": None,
                 "last_error": None})
    for target, status, count, oldest in db.execute(
        "SELECT target, status, count(*), min(created_at) FROM outbox WHERE status != 'folded' "
        "GROUP BY target, status"
    ).fetchall():
        summary[target]["held" if status == "collecting" else status] = count
        if status == "pending":
            summary[target]["oldest_pending"] = oldest
    for target, error in db.execute(
        "SELECT target, last_error FROM outbox WHERE last_error IS NOT NULL AND status != 'delivered' "
        "ORDER BY updated_at"
    ).fetchall():
        summary[target]["last_error"] = error
    return dict(summary)


def delivery_latencies(db: sqlite_utils.Database, since: str) -> list[tuple[str, float, float]]:
    """Alerts delivered at or after `since` (ISO 8601), with how long each took to reach its target.

    Returns:
        (target, seconds from the article's publication, seconds from its fetch) per alert; the
        publication delay falls back to the fetch delay when the article has no date.
    """
    ensure_alerts_schema(db)
    rows = db.execute(
        "SELECT o.target, o.delivered_at, a.published, a.fetched_at FROM outbox o "
        "JOIN articles a ON a.id = o.article_id "
        "WHERE o.kind = 'alert' AND o.status = 'delivered' AND o.delivered_at >= ?", [since]
    ).fetchall()
    found: list[tuple[str, float, float]] = []
    for target, delivered_at, published, fetched_at in rows:
        delivered, fetched = _parse_iso(delivered_at), _parse_iso(fetched_at)
        if delivered is None or fetched is None:
            continue
        from_fetch = (delivered - fetched).total_seconds()
        origin = _parse_iso(published) or fetched
        found.append((target, max(0.0, (delivered - origin).total_seconds()), max(0.0, from_fetch)))
    return found


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
