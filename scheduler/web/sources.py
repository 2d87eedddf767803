"""The sources page: each source's health, as `newswatch status` knows it, on one page.

- ``GET /sources`` — per source: kind, last success, last new article, failures in a row and the
  class of the last failure (``blocked``, ``gone``, ``broken``, ``timeout``, …, see
  ``crawler.store.SourceHealth``) with its message, articles per day, and the next crawl the running
  daemon has scheduled (only while its heartbeat is fresh: a dead daemon's plan is history), and
  its state (``crawler.source_states``: ok, empty, quiet, failing…) with the words it needs (an
  ``empty`` source says its index listed no entries).
  Configured sources never crawled yet are listed too; failing sources come first.

Settings read: the configured sources (from the workbench's config file, when it has one) and the
store's ``sources``, ``articles`` and ``daemon_jobs`` tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.store import source_health
from scheduler.config import load_config
from scheduler.errors import ConfigError
from scheduler.state import daemon_liveness, read_jobs
from scheduler.web.app import Workbench


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One line of the sources page."""

    name: str
    kind: str
    url: str
    last_success: str | None = None
    last_attempt: str | None = None
    last_new_article: str | None = None
    failures: int = 0
    failing_since: str | None = None
    error_class: str | None = None
    error: str | None = None
    articles_per_day: float = 0.0
    next_crawl: str | None = None
    configured: bool = True
    never_crawled: bool = False
    state: str = "new"  # crawler.source_states: ok, empty, not modified, quiet, failing, blocked, disabled, new
    state_detail: str | None = None  # what an `empty` source's index listed (crawler.source_states.state_detail)


def source_rows(web: Workbench) -> tuple[list[SourceRow], dict[str, Any], str]:
    """The rows, the daemon's liveness and a problem reading the config ("" when none)."""
    db = web.db()
    configured: dict[str, tuple[str, str]] = {}
    problem = ""
    if web.config_path is not None:
        try:
            config = load_config(web.config_path)
            configured = {s.name: (s.kind, s.url) for s in config.sources}
        except ConfigError as exc:
            problem = f"config.yaml is not valid right now ({len(exc.problems)} problem(s)); showing stored sources"
    schedule = read_jobs(db)
    liveness = daemon_liveness(schedule["daemon"])
    jobs = schedule["jobs"] if liveness["running"] else {}
    newest = dict(db.execute("SELECT source, max(fetched_at) FROM articles GROUP BY source").fetchall())
    rows = []
    seen = set()
    for h in source_health(db):
        seen.add(h.name)
        state, detail = h.state_words()
        rows.append(SourceRow(
            name=h.name, kind=h.kind, url=h.url, last_success=h.last_success, last_attempt=h.last_attempt,
            last_new_article=newest.get(h.name), failures=h.consecutive_failures, failing_since=h.failing_since,
            error_class=h.error_class, error=h.error, articles_per_day=h.articles_per_day,
            next_crawl=jobs.get(f"crawl:{h.name}"), configured=not configured or h.name in configured,
            state=state, state_detail=detail))
    for name in sorted(configured.keys() - seen):
        kind, url = configured[name]
        rows.append(SourceRow(name=name, kind=kind, url=url, next_crawl=jobs.get(f"crawl:{name}"), never_crawled=True))
    return rows, liveness, problem


def routes(web: Workbench) -> list[BaseRoute]:
    """The sources page's route."""

    def sources_page(request: Request) -> Response:
        rows, liveness, problem = source_rows(web)
        return web.render(request, "sources.html", title_text="Sources", rows=rows, liveness=liveness,
                          problem=problem, failing=sum(1 for r in rows if r.failures))

    return [Route("/sources", sources_page)]
