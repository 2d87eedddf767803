"""The SQL behind the workbench's pages: the story list (filters, full-text search, keyset paging) and
one story with its articles, verdicts, judgements and alert history. Free of HTTP, so the benchmark
(bench/bench_workbench.py) and other pages call the same functions.

Paging is by keyset, never OFFSET: stories are ordered by (last_seen, id) descending, which the index
``idx_stories_last_seen`` serves (SQLite keeps the rowid in every index), and the next page starts
after the last (last_seen, id) shown. Page 2,000 costs what page 1 costs.

Story states (`STATES`): ``new`` (nothing queued, not muted, not judged), ``alerted`` (an alert or
digest for it was queued or sent), ``held`` (waiting in a digest still collecting), ``muted``,
``judged`` (someone labelled it).

Settings read: none.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any

STATES = ("new", "alerted", "held", "muted", "judged")
PAGE_SIZE = 50

_ALERTED = ("EXISTS (SELECT 1 FROM story_alerts sa JOIN outbox o ON o.id = sa.outbox_id WHERE sa.story_id = s.id "
            "AND o.status IN ('pending', 'delivered', 'dead'))")
_HELD = ("EXISTS (SELECT 1 FROM story_alerts sa JOIN outbox o ON o.id = sa.outbox_id WHERE sa.story_id = s.id "
         "AND o.status = 'collecting')")
_MUTED = "EXISTS (SELECT 1 FROM mutes mu WHERE mu.story_id = s.id)"
_JUDGED = "EXISTS (SELECT 1 FROM judgements j WHERE j.story_id = s.id)"
_STATE_SQL = {
    "alerted": _ALERTED,
    "held": _HELD,
    "muted": _MUTED,
    "judged": _JUDGED,
    "new": f"NOT EXISTS (SELECT 1 FROM story_alerts sa WHERE sa.story_id = s.id) AND NOT {_MUTED} AND NOT {_JUDGED}",
}
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """What the story list is narrowed to (every field optional)."""

    watchlist: str = ""
    source: str = ""
    language: str = ""
    since: str = ""  # YYYY-MM-DD, inclusive (last activity)
    until: str = ""  # YYYY-MM-DD, inclusive
    min_score: float | None = None
    state: str = ""
    q: str = ""  # full-text search over the stories' articles

    def as_params(self) -> dict[str, str]:
        """The non-empty filters as query-string parameters."""
        values = {"watchlist": self.watchlist, "source": self.source, "language": self.language,
                  "since": self.since, "until": self.until, "state": self.state, "q": self.q,
                  "min_score": "" if self.min_score is None else f"{self.min_score:g}"}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One line of the story list."""

    id: int
    title: str
    url: str
    last_seen: str
    article_count: int
    outlets: tuple[str, ...]
    watchlists: tuple[str, ...]
    score: float | None
    states: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoryPage:
    """A page of the list and the key of the next one (None on the last page)."""

    rows: tuple[StoryRow, ...]
    next_key: str | None


def fts_query(text: str) -> str:
    """A user's search words as an FTS5 query: every word must occur (as a prefix for the last one).

    Words are quoted, so FTS5 operators and punctuation typed by the user cannot break the query.
    """
    words = _WORD.findall(text)
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def parse_key(key: str | None) -> tuple[str, int] | None:
    """A page key ``<last_seen>~<id>`` as a tuple; None when absent or malformed."""
    if not key or "~" not in key:
        return None
    seen, _, ident = key.rpartition("~")
    return (seen, int(ident)) if ident.isdigit() and seen else None


def _where(f: StoryFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.watchlist or f.min_score is not None:
        sub = "EXISTS (SELECT 1 FROM matches m WHERE m.story_id = s.id"
        if f.watchlist:
            sub += " AND m.watchlist = ?"
            params.append(f.watchlist)
        if f.min_score is not None:
            sub += " AND m.score >= ?"
            params.append(f.min_score)
        clauses.append(sub + ")")
    if f.source:
        clauses.append("EXISTS (SELECT 1 FROM story_articles sa JOIN articles a ON a.id = sa.article_id "
                       "WHERE sa.story_id = s.id AND a.source = ?)")
        params.append(f.source)
    if f.language:
        clauses.append("EXISTS (SELECT 1 FROM story_articles sa JOIN articles a ON a.id = sa.article_id "
                       "WHERE sa.story_id = s.id AND a.language = ?)")
        params.append(f.language)
    if f.since:
        clauses.append("s.last_seen >= ?")
        params.append(f.since)
    if f.until:
        clauses.append("s.last_seen < ?")
        params.append(f.until + "T99")  # every time of that day sorts before it
    if f.state in _STATE_SQL:
        clauses.append(_STATE_SQL[f.state])
    match = fts_query(f.q)
    if match:
        clauses.append("s.id IN (SELECT sa.story_id FROM story_articles sa WHERE sa.article_id IN "
                       "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?))")
        params.append(match)
    return clauses, params


_ROW = "SELECT s.id, s.title, s.url, s.last_seen, s.article_count, s.outlets FROM stories s"
_ORDER = "ORDER BY s.last_seen DESC, s.id DESC"
DENSE_SEARCH = 2000  # a search matching at least this many articles walks the stories instead (_dense_search)
_BATCH = 200  # stories asked about at once by _dense_search, doubling each round (the word may be in old ones only)
_MAX_BATCH = 12_800


def _after(clauses: list[str], params: list[Any], key: tuple[str, int] | None) -> tuple[list[str], list[Any]]:
    if key is None:
        return clauses, params
    # (last_seen, id) < key, written so that SQLite searches the index from the key instead of
    # scanning it from the top (the plain OR form scans: 3.8 ms against 0.03 ms at 20,000 stories).
    return [*clauses, "s.last_seen <= ? AND (s.last_seen < ? OR s.id < ?)"], [*params, key[0], key[0], key[1]]


def _dense(conn: sqlite3.Connection, match: str) -> bool:
    found = conn.execute("SELECT count(*) FROM (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT ?)",
                         [match, DENSE_SEARCH]).fetchone()[0]
    return bool(found >= DENSE_SEARCH)


def _dense_search(conn: sqlite3.Connection, f: StoryFilter, match: str, key: tuple[str, int] | None,
                  limit: int) -> list[tuple[Any, ...]]:
    """A page of a search whose words are in many articles: walk the stories newest first, a batch at a
    time, and ask the full-text index only about the article ids of the batch (a rowid range).

    Collecting every matching article first (the plain `IN` form) costs time in proportion to the
    matches: a word in most of 20,000 articles took 50 ms; this finds a page in a batch or two.
    """
    clauses, params = _where(f)
    rows: list[tuple[Any, ...]] = []
    size = _BATCH
    while len(rows) <= limit:
        batch_clauses, batch_params = _after(clauses, params, key)
        where = f"WHERE {' AND '.join(batch_clauses)}" if batch_clauses else ""
        batch = conn.execute(f"{_ROW} {where} {_ORDER} LIMIT ?", [*batch_params, size]).fetchall()
        if not batch:
            break
        marks = ", ".join("?" * len(batch))
        members = conn.execute(f"SELECT article_id, story_id FROM story_articles WHERE story_id IN ({marks})",
                               [r[0] for r in batch]).fetchall()
        if members:
            low, high = min(m[0] for m in members), max(m[0] for m in members)
            hits = {r[0] for r in conn.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? "
                                               "AND rowid BETWEEN ? AND ?", [match, low, high])}
            found = {story for article, story in members if article in hits}
            rows += [r for r in batch if r[0] in found]
        key = (batch[-1][3], batch[-1][0])
        size = min(2 * size, _MAX_BATCH)
    return rows[: limit + 1]


def list_stories(conn: sqlite3.Connection, f: StoryFilter, after: str | None = None,
                 limit: int = PAGE_SIZE) -> StoryPage:
    """One page of stories, most recently active first.

    Args:
        conn: a connection to the store.
        f: the filters.
        after: the page key of the previous page's last row (``StoryPage.next_key``); None for the first page.
        limit: rows per page.

    Returns:
        The StoryPage.
    """
    match = fts_query(f.q)
    if match and _dense(conn, match):
        rows = _dense_search(conn, replace(f, q=""), match, parse_key(after), limit)
    else:
        clauses, params = _where(f)
        clauses, params = _after(clauses, params, parse_key(after))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = conn.execute(f"{_ROW} {where} {_ORDER} LIMIT ?", [*params, limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    details = _details(conn, [r[0] for r in rows])
    out = tuple(
        StoryRow(id=r[0], title=r[1] or "", url=r[2] or "", last_seen=r[3] or "", article_count=r[4] or 0,
                 outlets=tuple(json.loads(r[5] or "[]")), **details.get(r[0], {}))
        for r in rows)
    next_key = f"{rows[-1][3]}~{rows[-1][0]}" if more and rows else None
    return StoryPage(out, next_key)


def _details(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Watchlists, best score and states of the listed stories (a few indexed queries per page)."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    found: dict[int, dict[str, Any]] = {i: {"watchlists": (), "score": None, "states": ()} for i in ids}
    for story_id, names, score in conn.execute(
            f"SELECT story_id, group_concat(DISTINCT watchlist), max(score) FROM matches WHERE story_id IN ({marks}) "
            "GROUP BY story_id", ids):
        found[story_id]["watchlists"] = tuple(sorted((names or "").split(","))) if names else ()
        found[story_id]["score"] = score
    states: dict[int, list[str]] = {i: [] for i in ids}
    for state in ("alerted", "held", "muted", "judged"):
        for (story_id,) in conn.execute(f"SELECT s.id FROM stories s WHERE s.id IN ({marks}) AND {_STATE_SQL[state]}",
                                        ids):
            states[story_id].append(state)
    for story_id in ids:
        found[story_id]["states"] = tuple(states[story_id]) or ("new",)
    return found


@dataclass(frozen=True, slots=True)
class ArticleView:
    """One article of a story, as the story page shows it."""

    id: int
    url: str
    source: str
    title: str
    text: str
    summary: str
    published: str | None
    language: str | None
    via: str


@dataclass(frozen=True, slots=True)
class VerdictView:
    """One stored match of an article against a watchlist, with its evidence grouped by rule."""

    article_id: int
    watchlist: str
    score: float
    threshold: float
    reason: str
    rules: dict[str, list[dict[str, Any]]]  # rule name -> evidence dicts (term, entity, field, weight, sentence)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One outbox row of the story (an alert, an update or a digest it went into) and its attempts."""

    id: int
    target: str
    kind: str
    status: str
    watchlists: tuple[str, ...]
    created_at: str
    delivered_at: str | None
    due: str
    last_error: str | None
    attempts: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class StoryView:
    """Everything the story page shows."""

    id: int
    title: str
    url: str
    first_seen: str
    last_seen: str
    outlets: tuple[str, ...]
    articles: tuple[ArticleView, ...]
    verdicts: tuple[VerdictView, ...]
    deliveries: tuple[DeliveryView, ...]
    muted: bool
    terms: tuple[str, ...] = field(default=())  # every evidence term, for highlighting and snoozing


def get_story(conn: sqlite3.Connection, story_id: int) -> StoryView | None:
    """One story with its articles, verdicts and alert history; None when there is no such story."""
    row = conn.execute("SELECT id, title, url, first_seen, last_seen, outlets FROM stories WHERE id = ?",
                       [story_id]).fetchone()
    if row is None:
        return None
    articles = tuple(ArticleView(*r) for r in conn.execute(
        "SELECT a.id, a.url, a.source, a.title, coalesce(a.text, ''), coalesce(a.summary, ''), a.published, "
        "a.language, sa.via FROM story_articles sa JOIN articles a ON a.id = sa.article_id WHERE sa.story_id = ? "
        "ORDER BY a.id", [story_id]))
    verdicts = []
    terms: dict[str, None] = {}
    for article_id, watchlist, score, threshold, reason, evidence in conn.execute(
            "SELECT article_id, watchlist, score, threshold, reason, evidence FROM matches WHERE story_id = ? "
            "ORDER BY watchlist, article_id", [story_id]):
        rules: dict[str, list[dict[str, Any]]] = {}
        for ev in json.loads(evidence or "[]"):
            rules.setdefault(str(ev.get("rule", "")), []).append(ev)
            if ev.get("term"):
                terms[str(ev["term"])] = None
        verdicts.append(VerdictView(article_id, watchlist, float(score or 0), float(threshold or 0), reason or "",
                                    rules))
    return StoryView(id=row[0], title=row[1] or "", url=row[2] or "", first_seen=row[3] or "",
                     last_seen=row[4] or "", outlets=tuple(json.loads(row[5] or "[]")), articles=articles,
                     verdicts=tuple(verdicts), deliveries=_deliveries(conn, story_id),
                     muted=conn.execute("SELECT 1 FROM mutes WHERE story_id = ?", [story_id]).fetchone() is not None,
                     terms=tuple(terms))


def _deliveries(conn: sqlite3.Connection, story_id: int) -> tuple[DeliveryView, ...]:
    rows = conn.execute(
        "SELECT id, target, kind, status, watchlists, created_at, delivered_at, next_attempt_at, last_error "
        "FROM outbox WHERE story_id = ? OR id IN (SELECT outbox_id FROM outbox_items WHERE story_id = ?) "
        "ORDER BY target, id", [story_id, story_id]).fetchall()
    out = []
    for r in rows:
        attempts = tuple(
            {"attempt": a[0], "at": a[1], "outcome": a[2], "status": a[3], "error": a[4]}
            for a in conn.execute("SELECT attempt, started_at, outcome, status, error FROM deliveries "
                                  "WHERE outbox_id = ? ORDER BY id", [r[0]]))
        out.append(DeliveryView(id=r[0], target=r[1], kind=r[2], status=r[3],
                                watchlists=tuple(json.loads(r[4] or "[]")), created_at=r[5] or "",
                                delivered_at=r[6], due=r[7] or "", last_error=r[8],
                                attempts=attempts))
    return tuple(out)


def facet_values(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """The choices of the filter form: watchlists matched, sources and languages stored."""
    return {
        "watchlists": [r[0] for r in conn.execute("SELECT DISTINCT watchlist FROM matches ORDER BY watchlist")],
        "sources": [r[0] for r in conn.execute("SELECT name FROM sources ORDER BY name")]
        or [r[0] for r in conn.execute(
            "SELECT DISTINCT source FROM (SELECT source FROM articles ORDER BY id DESC LIMIT 5000) ORDER BY source")],
        # The languages of the newest articles: a scan of every article would read all their text.
        "languages": [r[0] for r in conn.execute(
            "SELECT DISTINCT language FROM (SELECT language FROM articles ORDER BY id DESC LIMIT 5000) "
            "WHERE language IS NOT NULL AND language != '' ORDER BY language LIMIT 100")],
    }
