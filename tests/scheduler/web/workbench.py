"""Shared helpers of the workbench tests: a store filled by the real matcher and pipeline, and the
app served by a real uvicorn server on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from alerts import compile_matcher, load_gazetteer, parse_watchlists, process_new_articles
from alerts.pipeline import ProcessReport
from crawler.store import insert_article, open_store
from scheduler.web.server import WebServer
from scheduler.web.settings import WebSettings
from tests.waiting import wait_until

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WATCHLISTS = [
    {"name": "maritime", "targets": ["hook"], "threshold": 1, "fields": {"title": 2, "lead": 1, "body": 1},
     "rules": [{"name": "places", "any": ["coast guard", "Second Thomas Shoal", "South China Sea"]}]},
    {"name": "arms", "targets": ["hook"], "threshold": 1,
     "rules": [{"name": "deals", "any": ["frigate", "arms sale"]}]},
]
ROUTES = {"maritime": ["hook"], "arms": ["hook"]}
MATCHER = compile_matcher(parse_watchlists(WATCHLISTS), load_gazetteer())
BODY = ("Chinese coast guard ships fired water cannon at a Philippine supply boat near Second Thomas Shoal "
        "on Sunday, officials in Manila said. The incident is the latest in the South China Sea this year. "
        "Manila summoned the ambassador in protest.")


def add(db: sqlite_utils.Database, url: str, title: str, text: str = BODY, *, source: str = "rappler",
        language: str = "en", published: str = "2026-06-01T07:00:00+00:00") -> int:
    article_id = insert_article(db, {"url": url, "source": source, "title": title, "text": text, "summary": "",
                                     "published": published, "language": language})
    assert article_id is not None
    return article_id


def process(db: sqlite_utils.Database, now: datetime = T0) -> ProcessReport:
    return process_new_articles(db, MATCHER.match, ROUTES, now=now)


def fill(path: Path, extra: Sequence[tuple[str, str, str]] = ()) -> sqlite_utils.Database:
    """A store with a maritime story, an arms story and the `extra` (url, title, text) articles, matched."""
    db = open_store(path)
    add(db, "https://rappler.example/1", "Coast guard fires water cannon near Second Thomas Shoal")
    add(db, "https://arms.example/1", "Navy orders a new frigate in an arms sale", "The navy ordered a frigate. "
        "The arms sale was approved by parliament.", source="defnews", language="fr")
    for url, title, text in extra:
        add(db, url, title, text)
    process(db)
    return db


@contextmanager
def served(path: Path, settings: WebSettings | None = None, watchlists: Sequence[str] = ("maritime", "arms"),
           ) -> Iterator[str]:
    """The workbench over `path`, served by uvicorn on 127.0.0.1:0; yields its base URL."""
    base = settings or WebSettings()
    server = WebServer(path, WebSettings(**{**_fields(base), "host": "127.0.0.1", "port": 0}), watchlists)
    server.start()
    try:
        wait_until(lambda: server.started and server.port() is not None, "uvicorn listening")
        yield f"http://127.0.0.1:{server.port()}"
    finally:
        server.stop()


def _fields(settings: WebSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__slots__}  # type: ignore[attr-defined]


