"""Backfill: queue the alerts a target missed while it was switched off, once.

A target whose `${VAR}` is unset (or `enabled: false`) gets no routes, so the pipeline records the
matches of its watchlists but queues nothing for it. When the target comes on — at daemon start, or
on a config reload that enables it — `backfill_targets()` queues the stories its watchlists matched
within a window (`delivery.backfill`, 1 day by default) that were never queued for it, and logs how
many. `backfill_target()` is the same for one target and is what `newswatch alerts send` calls, with
an explicit story or window.

Never a duplicate: each (story, watchlist, target) goes through `outbox.enqueue_alert()` (or
`holding.hold_alert()` for a digest route), which records the triple in `story_alerts` and skips one
already recorded — queued, held, folded or sent — so running a backfill twice (a restart) queues
nothing the second time. A route's `min_outlets` is respected: a story with fewer outlets waits, as
it would have had the target been on.

Settings read: none; the caller passes the routes and the window.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from alerts.delivery.holding import Hold, hold_alert
from alerts.delivery.models import RouteSpec
from alerts.delivery.outbox import already_recorded, enqueue_alert
from alerts.delivery.shaping import as_route, next_digest_time
from alerts.store import transaction
from crawler.timeutil import iso, now_utc

logger = logging.getLogger(__name__)

Routes = Mapping[str, Sequence[str | RouteSpec]]


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """What one `backfill_target()` call did for one target."""

    target: str
    queued: int = 0  # (story, watchlist) newly queued as alerts or held for a digest
    messages: int = 0  # new outbox rows (one alert may name several watchlists of a story)
    already: int = 0  # (story, watchlist) already queued or sent to this target: skipped
    waiting: int = 0  # (story, watchlist) whose route wants more outlets than the story has


def _routes_to(target: str, routes: Routes) -> dict[str, RouteSpec]:
    """Watchlist → its route to `target`, for the watchlists that route there."""
    found: dict[str, RouteSpec] = {}
    for watchlist, specs in routes.items():
        for spec in map(as_route, specs):
            if spec.target == target:
                found[watchlist] = spec
    return found


def _candidates(db: sqlite_utils.Database, watchlists: Iterable[str], since: str | None,
                story_id: int | None) -> list[tuple[int, str, int, int]]:
    """(story, watchlist, newest matching article, outlet count) matched since `since` or of one story."""
    names = sorted(watchlists)
    if not names:
        return []
    sql = ("SELECT m.story_id, m.watchlist, max(m.article_id), json_array_length(coalesce(s.outlets, '[]')) "
           "FROM matches m JOIN stories s ON s.id = m.story_id "
           f"WHERE m.watchlist IN ({', '.join('?' * len(names))})")
    params: list[object] = list(names)
    if since is not None:
        sql += " AND m.matched_at >= ?"
        params.append(since)
    if story_id is not None:
        sql += " AND m.story_id = ?"
        params.append(story_id)
    sql += " GROUP BY m.story_id, m.watchlist ORDER BY m.story_id, m.watchlist"
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3] or 1)) for r in db.execute(sql, params).fetchall()]


def backfill_target(
    db: sqlite_utils.Database,
    target: str,
    routes: Routes,
    *,
    window: timedelta | None = None,
    story_id: int | None = None,
    now: datetime | None = None,
) -> BackfillReport:
    """Queue, once, the stories the watchlists routed to `target` matched and never alerted to it.

    Args:
        db: the store.
        target: the target name.
        routes: watchlist name → its routes (as `Config.routes()` gives them); only the routes to
            `target` are used, with their digest schedule and `min_outlets`.
        window: only stories matched within this long before `now`; None for no age limit.
        story_id: only this story.
        now: the current time (tests drive the clock with it); defaults to the system clock.

    Returns:
        A BackfillReport with the counts.
    """
    clock = now or now_utc()
    chosen = _routes_to(target, routes)
    since = iso(clock - window) if window is not None else None
    counts = {"queued": 0, "messages": 0, "already": 0, "waiting": 0}
    for story, watchlist, article_id, outlets in _candidates(db, chosen, since, story_id):
        route = chosen[watchlist]
        with transaction(db) as conn:
            if already_recorded(conn, story, watchlist, target):
                counts["already"] += 1
                continue
            if outlets < route.min_outlets:
                counts["waiting"] += 1
                continue
            counts["queued"] += 1
            if route.digest is None:
                counts["messages"] += enqueue_alert(conn, story, watchlist, target, article_id, clock)
            else:
                hold = Hold(next_digest_time(route.digest, clock), f"digest:{route.digest.every}",
                            route.digest.timezone, exact=True)
                hold_alert(conn, story, watchlist, target, article_id, clock, hold)
    return BackfillReport(target=target, **counts)


def backfill_targets(
    db: sqlite_utils.Database,
    targets: Iterable[str],
    routes: Routes,
    window_seconds: int,
    *,
    now: datetime | None = None,
) -> list[BackfillReport]:
    """Backfill each target that has just come on (daemon start, or a reload that enabled it).

    Logs one INFO line per target saying how many stories were queued (and how many were already
    sent or queued, so were skipped). A window of 0 turns backfill off (one INFO line says so).
    Never raises: a failing target is logged (ERROR, with the command that catches up by hand) and
    skipped, so the daemon starts or reloads anyway.

    Args:
        db: the store.
        targets: the targets that are now enabled.
        routes: watchlist name → routes to enabled targets (`Config.routes()`).
        window_seconds: `delivery.backfill`: how far back matched stories are queued.
        now: the current time (tests drive the clock with it).

    Returns:
        One BackfillReport per target (none when backfill is off).
    """
    names = list(dict.fromkeys(targets))
    if window_seconds <= 0:
        if names:
            logger.info("backfill is off (delivery.backfill: 0): stories matched while %s were off are not "
                        "sent; queue them with `newswatch alerts send --since 1d --target NAME`", ", ".join(names))
        return []
    reports = []
    for target in names:
        try:
            report = backfill_target(db, target, routes, window=timedelta(seconds=window_seconds), now=now)
        except Exception:  # the daemon must start (or reload) anyway; say how to catch up by hand
            logger.exception("backfill of target %s failed; queue what it missed with `newswatch alerts send "
                             "--since %s --target %s`", target, _span(window_seconds), target)
            continue
        reports.append(report)
        if report.queued or report.waiting:
            logger.info("backfill: target %s is on: queued %d story match(es) from the last %s, in %d new "
                        "message(s) (%d already sent or queued, %d waiting for more outlets)", target,
                        report.queued, _span(window_seconds), report.messages, report.already, report.waiting)
        else:
            logger.info("backfill: target %s is on: nothing missed in the last %s (%d already sent or queued)",
                        target, _span(window_seconds), report.already)
    return reports


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
