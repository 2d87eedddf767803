"""One-shot operations behind the CLI commands: crawl once, match, deliver, status, backtest.

Each is a plain function of a `Config` returning a typed result; the CLI only formats it. The daemon
(`service.Service`) runs the same alerts functions on its schedule.

Settings read: `Config.database`, `.sources`, `.crawl`, `.watchlists`, `.targets`, `.delivery`.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts import (
    DeliveryReport,
    Document,
    ProcessReport,
    WatchlistMatch,
    deliver_due,
    outbox_summary,
    process_new_articles,
)
from crawler import Article, CrawlReport, SourceHealth, crawl_blocking, iso_ago, iter_articles_after, source_health
from scheduler.config import Config
from scheduler.errors import NoDatabaseError
from scheduler.lock import DatabaseLock
from scheduler.maintenance import database_bytes
from scheduler.schema import open_store
from scheduler.state import daemon_liveness, read_jobs

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OnceReport:
    """What `crawl --once` did: per-source crawl reports, then matching and delivery."""

    crawls: tuple[CrawlReport, ...]
    matching: ProcessReport
    delivery: DeliveryReport

    @property
    def nothing_fetched(self) -> bool:
        """Every selected source failed (an `unchanged` source, 304 or same body, counts as fetched)."""
        return bool(self.crawls) and all(c.status == "failed" for c in self.crawls)


def select_sources(config: Config, names: Sequence[str]) -> list[Any]:
    """The configured sources named (all when `names` is empty).

    Raises:
        KeyError: a name is not a configured source (the message lists the known ones).
    """
    if not names:
        return list(config.sources)
    known = {s.name: s for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown source {', '.join(unknown)}; configured: {', '.join(sorted(known))}")
    return [known[n] for n in names]


def match_pending(config: Config) -> ProcessReport:
    """Match every stored article not matched yet and enqueue its alerts (with the config's matcher)."""
    db = open_store(config.database)
    try:
        return process_new_articles(db, config.matcher.match, config.routes())
    finally:
        db.close()


def deliver_pending(config: Config, now: datetime | None = None) -> DeliveryReport:
    """Send the alerts that are due now."""
    db = open_store(config.database)
    try:
        return deliver_due(db, config.targets, now=now, max_attempts=config.delivery.max_attempts,
                           backoff_base=config.delivery.retry_base_seconds)
    finally:
        db.close()


def crawl_once(config: Config, source_names: Sequence[str] = ()) -> OnceReport:
    """Crawl the sources once (in this process: it installs the reactor), then match and deliver.

    Holds the database's lock meanwhile, like the daemon: it refuses to run beside a daemon on the same
    database (both would fetch the same articles), and a daemon started meanwhile is refused.

    Raises:
        KeyError: an unknown source name.
        LockedError: a daemon (or another `crawl --once`) is using the database.
        StoreError: the database cannot be opened, or a newer newswatch wrote it (SchemaTooNewError).
    """
    sources = select_sources(config, source_names)
    with DatabaseLock(config.database, "crawl --once"):
        open_store(config.database).close()  # every migration first: a newer file is refused before any crawl
        crawls = crawl_blocking(sources, config.database, config.crawl) if sources else []
        return OnceReport(tuple(crawls), match_pending(config), deliver_pending(config))


def require_database(config: Config) -> None:
    """Read-only commands call this first: they must not create an empty database by looking.

    Raises:
        NoDatabaseError: `config.database` does not exist.
    """
    if not config.database.is_file():
        raise NoDatabaseError(config.database)


def _not_writable(path: Any) -> bool:
    # os.access alone says yes to root whatever the mode; a file or folder with no write bit at all
    # is read-only on purpose (or by mistake) and a daemon under another user could not write it.
    mode = path.stat().st_mode
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def database_problems(config: Config) -> list[str]:
    """What stops the daemon writing the database: the file or its folder not writable."""
    problems = []
    if _not_writable(config.database):
        problems.append(f"database {config.database} is read-only (mode {config.database.stat().st_mode & 0o777:o}): "
                        "crawls cannot store articles; make it writable by the daemon's user (chmod u+w)")
    folder = config.database.parent
    if _not_writable(folder):
        problems.append(f"folder {folder} is not writable (mode {folder.stat().st_mode & 0o777:o}): SQLite needs "
                        "it for its -wal and -shm files; make it writable by the daemon's user")
    return problems


def match_documents(config: Config, documents: Iterable[Document]) -> Iterable[list[WatchlistMatch]]:
    """Dry run: the verdict of every watchlist on each document, nothing stored or sent."""
    for document in documents:
        yield config.matcher.match(document)


def backtest(config: Config, watchlist: str, since: timedelta | None) -> list[tuple[Article, WatchlistMatch]]:
    """Run one watchlist over stored articles and return those it would have alerted on.

    Raises:
        KeyError: no watchlist of that name in the config.
    """
    chosen = [i for i, w in enumerate(config.watchlists) if w.name == watchlist]
    if not chosen:
        known = ", ".join(w.name for w in config.watchlists)
        raise KeyError(f"no watchlist named {watchlist!r}; configured: {known}")
    require_database(config)
    # The config's matcher gives one verdict per watchlist, in config order: this watchlist's is at `index`.
    index = chosen[0]
    # By when the article was fetched (what the daemon would have seen), not its publication date.
    cutoff = iso_ago(since) if since else None
    hits: list[tuple[Article, WatchlistMatch]] = []
    db = open_store(config.database)
    try:
        for article in iter_articles_after(db, 0):
            if cutoff and article.fetched_at and article.fetched_at < cutoff:
                continue
            verdict = config.matcher.match(Document(title=article.title, lead=article.summary,
                                                    body=article.text))[index]
            if verdict.matched:
                hits.append((article, verdict))
    finally:
        db.close()
    return hits


def _health_entry(health: SourceHealth) -> dict[str, Any]:
    """One source of `newswatch status`: its stored health, its state, and the words the state needs."""
    state, detail = health.state_words()
    return asdict(health) | {"state": state, "state_detail": detail}


def status_report(config: Config) -> dict[str, Any]:
    """Everything `newswatch status` shows: sources' health, the outbox, targets, database size.

    Raises:
        NoDatabaseError: there is no database yet (status never creates one).
    """
    require_database(config)
    db = open_store(config.database)
    try:
        health = [_health_entry(h) for h in source_health(db)]
        outbox = outbox_summary(db)
        articles = db["articles"].count
        schedule = read_jobs(db)
        from scheduler.workers.status import workers_report

        workers = workers_report(config, db)
    finally:
        db.close()
    configured = {s.name for s in config.sources}
    size = database_bytes(config)
    liveness = daemon_liveness(schedule["daemon"])
    # A dead daemon's schedule is history, not a plan: no "next run" in the past.
    jobs = schedule["jobs"] if liveness["running"] else {}
    for entry in health:
        entry["next_run"] = jobs.get(f"crawl:{entry['name']}")
    return {
        "daemon": schedule["daemon"] if liveness["running"] else None,
        "daemon_liveness": liveness,
        "problems": database_problems(config),
        "jobs": jobs,
        "database": str(config.database),
        "database_bytes": size,
        "articles": articles,
        "sources": [h for h in health if h["name"] in configured]
        + [{"name": n, "never_crawled": True} for n in sorted(configured - {h["name"] for h in health})],
        "outbox": outbox,
        "targets": {name: "enabled" for name in config.targets}
        | {name: f"disabled: {why}" for name, why in config.disabled_targets.items()},
        "watchlists": [w.name for w in config.watchlists],
        "workers": workers,  # None unless workers.enabled (scheduler.workers.status)
    }
