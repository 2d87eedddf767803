"""The delivery worker: drains due outbox rows through their channels, with retries and dead-letter.

`deliver_due()` sends, per target and in outbox order, every row that is due; each target has its
own worker thread (up to `WORKERS` at once, each with its own SQLite connection), so a receiver that
hangs holds only its own rows, and every send is bounded by its target's `timeout` in total
(`alerts.channels.deadline`). A row is claimed
first (its attempt counted, its due time pushed `LEASE` ahead, so a crash mid-send retries it later
instead of losing it) and marked delivered only after the channel returned. A failure that can heal
(timeout, connection error, 5xx, 408, 429) schedules the row again after an exponential backoff with
jitter — `BACKOFF_BASE` × 2^(attempt−1), at most `BACKOFF_MAX`, ×0.8–1.2 — or after Retry-After
when a 429 asks for longer; other rows of that target wait behind it, so alerts arrive in order
after an outage. A failure that cannot heal (other 4xx, SMTP 5xx, a bad config) and the
`max_attempts`-th failure move the row to ``dead``. With the defaults, 8 attempts span about two
hours (at least 1.7 h) before a row is dead-lettered.

Shaping happens here too (`alerts.delivery.holding`): each run first closes the digests that are due (not
while their target is in quiet hours), and an alert nobody has tried to send yet is folded into a
digest instead when its target is in quiet hours (and the alert scores below `min_score`) or has
used up its rate limit. So the daemon needs no separate digest job: digests go out on the first
delivery run after they are due.

Story updates (rows of kind ``update``, see `alerts.delivery.outbox`) go through the same queue, retries and
dead-letter, as replies in the thread of their story's alert (`SlackChannel.send_update`); they are
never held by quiet hours or rate limits (a thread reply notifies nobody but the thread's followers)
and do not count towards a rate limit. An alert sent in Slack bot-token mode records the message's
`ts` and channel, and the newest article of its story when its text was composed.

Settings read: the targets passed in (kind, url, secret, smtp, timeout, quiet_hours, rate_limit);
`max_attempts`.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from alerts.channels.base import Channel, Message, scrub
from alerts.channels.email import EmailChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.delivery.digest import load_digest
from alerts.delivery.holding import close_due_digests, fold_alert, hold_for
from alerts.delivery.messages import load_alert, load_notice, load_update, sample_alert
from alerts.delivery.models import Receipt, TargetSpec
from alerts.delivery.outbox import OutboxEntry, claim, pending_entries, record_attempt, release_stale_leases
from alerts.errors import DeliveryError
from alerts.links import StoryLinks
from crawler.errors import StoreError
from crawler.store import connect
from crawler.timeutil import iso, now_utc

logger = logging.getLogger(__name__)

BACKOFF_BASE = 60.0
BACKOFF_MAX = 6 * 3600.0
LEASE = timedelta(minutes=5)
WORKERS = 8  # targets served at once by one deliver_due() call

_rng = random.Random()


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one `deliver_due()` call did."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0  # failed and scheduled again
    dead: int = 0  # moved to dead-letter
    held: int = 0  # alerts folded into a digest (quiet hours, rate limit)
    digests_due: int = 0  # digests that became due and were queued


def _channels() -> dict[str, Channel]:
    channels: dict[str, Channel] = {"slack": SlackChannel(), "webhook": WebhookChannel(),
                                    "email": EmailChannel()}
    try:
        from alerts.channels.apprise import AppriseChannel
    except ImportError:  # apprise is optional
        return channels
    channels["apprise"] = AppriseChannel()
    return channels


def channel_for(target: TargetSpec) -> Channel:
    """The channel that sends to targets of `target.kind`.

    Raises:
        DeliveryError: no channel for that kind (not retryable).
    """
    channel = _channels().get(target.kind)
    if channel is None:
        raise DeliveryError(f"no channel for kind {target.kind!r}", channel=target.name, retryable=False)
    return channel


def backoff(attempt: int, retry_after: float | None = None, base: float = BACKOFF_BASE) -> float:
    """Seconds to wait after the `attempt`-th failed attempt (1-based), jittered, never below Retry-After."""
    delay = min(BACKOFF_MAX, base * 2 ** max(attempt - 1, 0)) * _rng.uniform(0.8, 1.2)
    return float(max(delay, retry_after or 0.0))


def load_message(db: sqlite_utils.Database, entry: OutboxEntry, links: StoryLinks | None = None) -> Message:
    """What an outbox row says, by its kind: an Alert, a Digest or a Notice.

    With `links` (the workbench's public address), an alert (and each story of a digest) carries its
    story's page and judge links.

    Raises:
        StoreError: the stories it names are gone (pruned).
    """
    if entry.kind == "digest":
        return load_digest(db, entry, links)
    if entry.kind == "notice":
        return load_notice(entry)
    return load_alert(db, entry, links)


def _what(entry: OutboxEntry) -> str:
    if entry.kind == "digest":
        return f"digest row {entry.id}"
    if entry.kind == "notice":
        return f"notice {entry.notice_key}"
    if entry.kind == "update":
        return f"story {entry.story_id} update (article {entry.article_id})"
    return f"story {entry.story_id}"


def _newest_article(db: sqlite_utils.Database, story_id: int) -> int:
    row = db.execute("SELECT max(article_id) FROM story_articles WHERE story_id = ?", [story_id]).fetchone()
    return int(row[0] or 0)


def _send(db: sqlite_utils.Database, entry: OutboxEntry, spec: TargetSpec) -> tuple[Receipt | None, int | None]:
    """Load and send one row; returns the channel's receipt and, for alerts, the story's newest article
    when the text was composed (read before composing, so a later article is never taken as shown)."""
    if entry.kind == "update":
        SlackChannel().send_update(load_update(db, entry), spec)
        return None, None
    covered = _newest_article(db, entry.story_id) if entry.kind == "alert" and spec.threads else None
    receipt = channel_for(spec).send(load_message(db, entry, spec.links), spec)
    return receipt, covered


def _send_one(db: sqlite_utils.Database, entry: OutboxEntry, spec: TargetSpec, clock: datetime,
              max_attempts: int, backoff_base: float) -> str:
    """One attempt at one claimed row; returns the outcome (delivered, retry or dead)."""
    attempt = entry.attempts + 1
    try:
        receipt, covered = _send(db, entry, spec)
    except DeliveryError as exc:
        error, status, retry_after = scrub(str(exc), spec), exc.status, exc.retry_after
        retryable = exc.retryable
    except StoreError as exc:
        error, status, retry_after, retryable = str(exc), None, None, False
    except Exception as exc:  # a bug in a channel must not stop the worker; keep the row
        logger.exception("delivery: target %s, outbox row %d: unexpected error", spec.name, entry.id)
        error, status, retry_after, retryable = scrub(f"{type(exc).__name__}: {exc}", spec), None, None, True
    else:
        record_attempt(db, entry, now=clock, outcome="delivered", receipt=receipt, covered_article_id=covered)
        logger.info("delivery: %s delivered to target %s (attempt %d)", _what(entry), spec.name, attempt)
        return "delivered"
    if not retryable or attempt >= max_attempts:
        record_attempt(db, entry, now=clock, outcome="dead", status=status, error=error,
                       retry_after=retry_after)
        logger.error("delivery: %s to target %s dead-lettered after %d attempts: %s",
                     _what(entry), spec.name, attempt, error)
        return "dead"
    delay = backoff(attempt, retry_after, backoff_base)
    record_attempt(db, entry, now=clock, outcome="retry", status=status, error=error,
                   retry_after=retry_after, next_attempt_at=clock + timedelta(seconds=delay))
    logger.warning("delivery: %s to target %s failed (attempt %d, next in %.0f s): %s",
                   _what(entry), spec.name, attempt, delay, error)
    return "retry"


class _Budget:
    """The `limit` of send attempts of one `deliver_due()` call, shared by the target workers."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


def _db_file(db: sqlite_utils.Database) -> str | None:
    """The main database's file, or None for an in-memory database (which other threads cannot open)."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return str(row[2])
    return None


def _drain_target(db: sqlite_utils.Database, entries: list[OutboxEntry], spec: TargetSpec, clock: datetime,
                  max_attempts: int, backoff_base: float, budget: _Budget) -> Counter[str]:
    """Send one target's due rows in outbox order until one fails (head of line); returns the counts."""
    counts: Counter[str] = Counter()
    stamp = iso(clock)
    for entry in entries:
        # Head of line: a younger row never overtakes an older one waiting for its retry.
        if entry.next_attempt_at > stamp:
            break
        hold = hold_for(db, entry, spec, clock)
        if hold is not None:
            counts["held"] += fold_alert(db, entry, hold, clock)
            continue
        if not budget.take():
            break
        if not claim(db, entry, clock, clock + LEASE):
            break
        counts["attempted"] += 1
        outcome = _send_one(db, entry, spec, clock, max_attempts, backoff_base)
        counts["failed" if outcome == "retry" else outcome] += 1
        if outcome == "retry":
            break
    return counts


def _target_worker(path: str, entries: list[OutboxEntry], spec: TargetSpec, clock: datetime, max_attempts: int,
                   backoff_base: float, budget: _Budget) -> Counter[str]:
    db = connect(path)  # a connection of this worker thread (set up as every store connection is)
    try:
        return _drain_target(db, entries, spec, clock, max_attempts, backoff_base, budget)
    finally:
        db.conn.close()


def deliver_due(
    db: sqlite_utils.Database,
    targets: Mapping[str, TargetSpec],
    *,
    now: datetime | None = None,
    max_attempts: int = 8,
    limit: int = 100,
    backoff_base: float = BACKOFF_BASE,
    workers: int = WORKERS,
    only: Collection[str] | None = None,
    prepare: bool = True,
) -> DeliveryReport:
    """Send every due outbox row, oldest first per target, shaping alerts on the way.

    Due digests are closed first (merged into one message per target, held while the target is
    in quiet hours); an alert nobody has tried yet is folded into a digest instead of being sent
    when its target's quiet hours or rate limit say so (see `alerts.delivery.holding`).

    Each target is served by its own worker thread (at most `workers` at once, each with its own
    SQLite connection), in outbox order within the target, so a slow or hanging receiver delays
    only its own rows; every send is bounded by its target's `timeout` in total.

    Blocking (HTTP and SMTP calls with deadlines): run it in a worker thread from the daemon.

    Args:
        db: the store.
        targets: target name → resolved TargetSpec. Rows for a target missing here stay pending
            (a warning is logged) until it is configured again.
        now: the current time (tests drive the clock with it); defaults to the system clock.
        max_attempts: failed attempts after which a row is dead-lettered.
        limit: most send attempts in this call.
        backoff_base: seconds before the first retry; each later retry waits twice as long.
        workers: most targets served at once.
        only: serve only these targets' rows (the others wait for another call); None: every target.
        prepare: close the due digests, release the leases of dead processes and warn about rows of
            unconfigured targets first. The daemon prepares once per round (`only=()`), then serves each
            target not still busy from an earlier round in a call of its own (`only={name}`,
            `prepare=False`), so a hanging receiver never holds the other targets' next round.

    Returns:
        A DeliveryReport with the counts.
    """
    clock = now or now_utc()
    counts: Counter[str] = Counter()
    if prepare:
        release_stale_leases(db, clock)
        counts["digests_due"] = close_due_digests(db, targets, clock)
    by_target: dict[str, list[OutboxEntry]] = {}
    for entry in pending_entries(db):
        by_target.setdefault(entry.target, []).append(entry)
    work: list[tuple[list[OutboxEntry], TargetSpec]] = []
    for name, entries in by_target.items():
        spec = targets.get(name)
        if spec is None:
            if prepare:
                logger.warning("delivery: %d alerts wait for target %s, which is not configured or disabled",
                               len(entries), name)
            continue
        if only is None or name in only:
            work.append((entries, spec))
    budget = _Budget(limit)
    path = _db_file(db)
    if path is None or len(work) <= 1 or workers <= 1:  # nothing to overlap, or no file to share
        for entries, spec in work:
            counts.update(_drain_target(db, entries, spec, clock, max_attempts, backoff_base, budget))
    else:
        if db.conn.in_transaction:
            db.conn.commit()  # let the workers' connections write
        with ThreadPoolExecutor(max_workers=min(workers, len(work)), thread_name_prefix="newswatch-delivery") as pool:
            futures = [pool.submit(_target_worker, path, entries, spec, clock, max_attempts, backoff_base, budget)
                       for entries, spec in work]
            for future in futures:
                counts.update(future.result())
    report = DeliveryReport(**{field: counts[field] for field in
                               ("attempted", "delivered", "failed", "dead", "held", "digests_due")})
    if report.attempted or report.held:
        logger.info("delivery: %d attempted, %d delivered, %d to retry, %d dead, %d held for a digest",
                    report.attempted, report.delivered, report.failed, report.dead, report.held)
    return report


def send_test_alert(target: TargetSpec) -> None:
    """Send a sample alert to `target` now, without the outbox (for `newswatch test-alert TARGET`).

    Raises:
        DeliveryError: the target refused it or could not be reached (message free of secrets).
    """
    try:
        channel_for(target).send(sample_alert(target.name), target)
    except DeliveryError as exc:
        raise DeliveryError(scrub(exc.args[0].partition(": ")[2] or str(exc), target),
                            channel=target.name, status=exc.status, retryable=exc.retryable,
                            retry_after=exc.retry_after) from None
    logger.info("delivery: test alert sent to target %s", target.name)
