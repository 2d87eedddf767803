"""From new articles to queued alerts: match, group into stories, write the outbox — atomically.

`process_new_articles()` reads the articles stored after the alerts cursor, asks the matcher about
each, and for every article that matched at least one watchlist records the matches with their
evidence, puts the article into a story (a new one, or the near-duplicate story it belongs to) and
queues one outbox row per (story, target) for the targets the matched watchlists route to. All of
that and the cursor move are one transaction per article: a crash loses nothing and repeats nothing.

Per route (`RouteSpec`): a route with a digest schedule holds the story in the target's next digest
(`alerts.delivery.holding`) instead of an alert; a route with `min_outlets` > 1 waits until that many
different outlets are in the story — a later article joining the story (from a new outlet) can
set it off, for every watchlist the story matched before. Immediate routes are tried before digest
routes, highest score first, so a story going out at once to a target carries along the watchlists
that would otherwise have waited for that target's digest.

Story updates: an article joining a story whose alert already went out to a target through Slack's
Web API (the delivered row has a message `ts`) queues, in the same transaction, one ``update`` row
per such target — a thread reply "Also reported by …" under that alert (`outbox.queue_story_updates`).

Settings read: none; the watchlist → routes mapping is passed in.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlite_utils

from alerts.delivery.holding import Hold, hold_alert
from alerts.delivery.models import RouteSpec
from alerts.delivery.outbox import enqueue_alert, queue_story_updates
from alerts.delivery.shaping import as_route, next_digest_time
from alerts.match.models import Document, WatchlistMatch
from alerts.store import get_cursor, set_cursor, transaction
from alerts.stories import Fingerprint, StoryIndex, StoryMatch, fingerprint, parse_time
from crawler.items import Article
from crawler.store import iter_articles_after
from crawler.timeutil import iso, now_utc

logger = logging.getLogger(__name__)

MatchFunction = Callable[[Document], Sequence[WatchlistMatch]]
Routes = Mapping[str, Sequence[str | RouteSpec]]


@dataclass(frozen=True, slots=True)
class ProcessReport:
    """What one `process_new_articles()` call did."""

    articles: int = 0  # articles read past the cursor
    matched: int = 0  # articles that matched at least one watchlist
    alerts_enqueued: int = 0  # new alert rows in the outbox (one per story and target)
    stories_new: int = 0
    stories_joined: int = 0  # matched articles that joined an existing story
    alerts_held: int = 0  # (story, watchlist, target) put in a digest by a digest route
    alerts_waiting: int = 0  # (story, watchlist, target) waiting for more outlets (min_outlets)
    updates_queued: int = 0  # story updates (thread replies) queued for articles joining alerted stories


def outlet_of(article: Article) -> str:
    """The outlet name shown in alerts: the source name, or the URL's host when there is none."""
    return article.source or urlsplit(article.url).hostname or ""


def _join_story(conn: sqlite3.Connection, found: StoryMatch, article: Article, stamp: str,
                published: str | None) -> int:
    row = conn.execute("SELECT outlets, last_published FROM stories WHERE id = ?",
                       [found.story_id]).fetchone()
    outlets = json.loads(row[0] or "[]")
    outlet = outlet_of(article)
    if outlet and outlet not in outlets:
        outlets.append(outlet)
    latest = max(filter(None, [row[1], published]), default=None)
    conn.execute(
        "UPDATE stories SET last_seen = ?, last_published = ?, article_count = article_count + 1, "
        "outlets = ? WHERE id = ?",
        [stamp, latest, json.dumps(outlets, ensure_ascii=False), found.story_id],
    )
    return len(outlets)


def _new_story(conn: sqlite3.Connection, article: Article, stamp: str, published: str | None) -> int:
    cursor = conn.execute(
        "INSERT INTO stories (title, url, source, first_article_id, published, last_published, first_seen, "
        "last_seen, article_count, outlets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        [article.title, article.url, article.source, article.id, published, published, stamp, stamp,
         json.dumps([outlet_of(article)], ensure_ascii=False)],
    )
    return int(cursor.lastrowid or 0)


def _record_matches(conn: sqlite3.Connection, article: Article, story_id: int,
                    matched: Sequence[WatchlistMatch], stamp: str) -> None:
    for m in matched:
        conn.execute(
            "INSERT OR IGNORE INTO matches (article_id, watchlist, story_id, score, threshold, rules, "
            "evidence, reason, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [article.id, m.watchlist, story_id, m.score, m.threshold, json.dumps(list(m.rules)),
             json.dumps([asdict(e) for e in m.evidence], ensure_ascii=False), m.reason, stamp],
        )


def _candidates(conn: sqlite3.Connection, story_id: int, matched: Sequence[WatchlistMatch], routes: Routes,
                joined: bool) -> list[tuple[str, float]]:
    """(watchlist, score) to route for this article.

    The article's own matches, plus — when it joined a story — the story's earlier watchlists that
    wait for more outlets on some route.
    """
    scores = {m.watchlist: m.score for m in matched}
    if joined:
        for watchlist, score in conn.execute(
            "SELECT watchlist, max(score) FROM matches WHERE story_id = ? GROUP BY watchlist ORDER BY watchlist",
            [story_id],
        ).fetchall():
            if watchlist not in scores and any(as_route(r).min_outlets > 1 for r in routes.get(watchlist, ())):
                scores[watchlist] = float(score or 0.0)
    return list(scores.items())


def _route(conn: sqlite3.Connection, story_id: int, watchlist: str, route: RouteSpec, article_id: int,
           clock: datetime, counts: dict[str, int]) -> None:
    if route.digest is None:
        if enqueue_alert(conn, story_id, watchlist, route.target, article_id, clock):
            counts["alerts_enqueued"] += 1
        return
    hold = Hold(next_digest_time(route.digest, clock), f"digest:{route.digest.every}", route.digest.timezone,
                exact=True)
    if hold_alert(conn, story_id, watchlist, route.target, article_id, clock, hold):
        counts["alerts_held"] += 1


def process_new_articles(
    db: sqlite_utils.Database,
    match: MatchFunction,
    routes: Routes,
    *,
    now: datetime | None = None,
    batch: int = 200,
) -> ProcessReport:
    """Match every article stored after the alerts cursor and queue the alerts they cause.

    Args:
        db: the store (crawler tables present; alerts tables are created if missing).
        match: the matcher, called once per article with Document(title, lead=summary, body=text);
            it returns one WatchlistMatch per watchlist, matched or not.
        routes: watchlist name → the targets it alerts: plain target names (immediate alerts) or
            RouteSpecs (digest schedule, min_outlets).
        now: the current time (tests drive the clock with it); defaults to the system clock.
        batch: how many articles to read from the store at a time.

    Returns:
        A ProcessReport with the counts.

    Raises:
        Whatever `match` raises: the cursor stays before that article, so it is retried next time.
    """
    clock = now or now_utc()
    stamp = iso(clock)
    index = StoryIndex.load(db, clock)
    counts = {"articles": 0, "matched": 0, "alerts_enqueued": 0, "stories_new": 0, "stories_joined": 0,
              "alerts_held": 0, "alerts_waiting": 0, "updates_queued": 0}
    while True:
        articles = list(iter_articles_after(db, get_cursor(db), limit=batch))
        if not articles:
            break
        for article in articles:
            document = Document(title=article.title, lead=article.summary, body=article.text)
            matched = [m for m in match(document) if m.matched]
            published_at = parse_time(article.published)
            published = iso(published_at) if published_at else None
            fp: Fingerprint | None = None
            story_id = 0
            with transaction(db) as conn:
                if get_cursor(db) >= article.id:  # another worker got here first
                    continue
                counts["articles"] += 1
                if matched:
                    fp = fingerprint(article.title, article.summary, article.text)
                    found = index.find(fp, published_at)
                    if found is not None:
                        story_id = found.story_id
                        outlets = _join_story(conn, found, article, stamp, published)
                        counts["stories_joined"] += 1
                    else:
                        story_id = _new_story(conn, article, stamp, published)
                        outlets = 1
                        counts["stories_new"] += 1
                    conn.execute(
                        "INSERT OR IGNORE INTO story_articles (article_id, story_id, similarity, via, "
                        "signature, title_signature, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [article.id, story_id, found.similarity if found else 1.0,
                         found.via if found else "new", fp.text_bytes(), fp.title_bytes(), stamp],
                    )
                    _record_matches(conn, article, story_id, matched, stamp)
                    counts["matched"] += 1
                    # Immediate routes first, highest score first: a story going out at once to a
                    # target carries the watchlists that would otherwise wait for its digest.
                    todo = [(watchlist, score, route)
                            for watchlist, score in _candidates(conn, story_id, matched, routes, found is not None)
                            for route in map(as_route, routes.get(watchlist, ()))]
                    for watchlist, _score, route in sorted(todo, key=lambda t: (t[2].digest is not None, -t[1])):
                        if outlets < route.min_outlets:
                            counts["alerts_waiting"] += 1
                            continue
                        _route(conn, story_id, watchlist, route, article.id, clock, counts)
                    if found is not None:
                        counts["updates_queued"] += queue_story_updates(conn, story_id, article.id, clock)
                set_cursor(conn, article.id)
            if fp is not None:  # only after the commit: a rolled-back story must not be joined
                index.add(article.id, story_id, fp, published_at)
                logger.debug("article %d (%s) → story %d, watchlists %s", article.id, article.url,
                             story_id, ", ".join(m.watchlist for m in matched))
    report = ProcessReport(**counts)
    if report.articles:
        logger.info("alerts: %d articles read, %d matched, %d new stories, %d joined, %d alerts queued, "
                    "%d held for digests, %d waiting for more outlets", report.articles, report.matched,
                    report.stories_new, report.stories_joined, report.alerts_enqueued, report.alerts_held,
                    report.alerts_waiting)
    return report
