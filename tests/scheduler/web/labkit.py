"""Shared pieces of the lab, sources, outbox and judge-link tests: a config.yaml with two watchlists
and comments, a store filled through the real matcher and pipeline with a few judged stories, and the
workbench served with that config by a real uvicorn on 127.0.0.1, port 0."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlite_utils

from alerts import compile_matcher, process_new_articles
from alerts.feedback import judge
from scheduler.config import load_config
from scheduler.schema import open_store
from scheduler.web.server import WebServer
from scheduler.web.settings import WebSettings
from tests.scheduler.web.workbench import T0, add
from tests.waiting import wait_until

TOKEN = re.compile(r'name="csrf" value="([0-9a-f]+)"')

CONFIG = """\
# newswatch test configuration (this comment must survive every edit)
database: nw.db
targets:
  - {name: hook, kind: webhook, url: "HOOK_URL"}   # the archive receiver
watchlists:
  # Sea incidents around the shoals.
  - name: maritime
    targets: [hook]
    threshold: 1
    fields: {title: 2, lead: 1, body: 1}
    rules:
      - name: places   # the places we watch
        any: ["coast guard", "Second Thomas Shoal", "South China Sea"]

  # Weapons trade.
  - name: arms
    targets: [hook]
    threshold: 1
    rules:
      - name: deals
        any: [frigate, "arms sale"]
"""

# The maritime edit the tests preview and save: a new place, and swimmers as a veto.
EDITED_RULE = '        any: ["coast guard", "Second Thomas Shoal", "South China Sea", "Scarborough Shoal"]'

SHOAL = ("Chinese coast guard ships fired water cannon at a Philippine supply boat near Second Thomas Shoal "
         "on Sunday, officials in Manila said.")
FRIGATE = ("A Philippine navy frigate shadowed two Chinese ships near Scarborough Shoal on Monday, "
           "the armed forces said.")
BEACH = "The coast guard rescued two swimmers caught by a rip current at the beach on Saturday."
FERRY = "A ferry bound for Masinloc turned back near Scarborough Shoal as the weather worsened."


def write_config(path: Path, hook_url: str = "http://127.0.0.1:9/h", extra: str = "") -> Path:
    path.write_text(CONFIG.replace("HOOK_URL", hook_url) + extra, encoding="utf-8")
    return path


def fill(config_path: Path) -> dict[str, int]:
    """The store of `config_path`, filled and matched; returns story ids by name.

    - shoal: maritime matches, judged relevant (a hit);
    - frigate: only arms matches (frigate), judged relevant for maritime (a miss);
    - beach: maritime matches (coast guard), judged not relevant (a false alarm);
    - ferry: nothing matches, so it is in no story (the edit would start one).
    """
    config = load_config(config_path)
    db = open_store(config.database)
    add(db, "https://rappler.example/shoal", "Coast guard fires water cannon near Second Thomas Shoal", SHOAL)
    add(db, "https://inquirer.example/frigate", "Navy frigate shadows Chinese ships off Scarborough", FRIGATE,
        source="inquirer")
    add(db, "https://local.example/beach", "Coast guard rescues two swimmers at the beach", BEACH, source="local")
    add(db, "https://gma.example/ferry", "Ferry turns back near Scarborough Shoal", FERRY, source="gma")
    matcher = compile_matcher(config.watchlists, config.gazetteer)
    process_new_articles(db, matcher.match, {"maritime": [], "arms": []}, now=T0)
    ids = {name: story_of(db, url) for name, url in (("shoal", "https://rappler.example/shoal"),
                                                     ("frigate", "https://inquirer.example/frigate"),
                                                     ("beach", "https://local.example/beach"))}
    judge(db, ids["shoal"], "maritime", True, "ana")
    judge(db, ids["frigate"], "maritime", True, "ana")
    judge(db, ids["beach"], "maritime", False, "ana")
    db.conn.close()
    return ids


def story_of(db: sqlite_utils.Database, url: str) -> int:
    row = db.execute("SELECT sa.story_id FROM story_articles sa JOIN articles a ON a.id = sa.article_id "
                     "WHERE a.url = ?", [url]).fetchone()
    assert row is not None, f"{url} is in no story"
    return int(row[0])


def edited_maritime(config_path: Path) -> str:
    """The maritime watchlist as the lab shows it, with the edit applied (and a comment added)."""
    from scheduler.config_edit import watchlist_text

    text = watchlist_text(config_path, "maritime")
    old = '  any: ["coast guard", "Second Thomas Shoal", "South China Sea"]'
    assert old in text, text
    text = text.replace(old, EDITED_RULE[6:])
    return text + "none: [swimmers]   # lifeguard stories are not incidents\n"


@contextmanager
def served(database: Path, config_path: Path | None, settings: WebSettings | None = None) -> Iterator[str]:
    """The workbench over `database` with `config_path`, on 127.0.0.1:0; yields its base URL."""
    base = settings or WebSettings()
    chosen = WebSettings(host="127.0.0.1", port=0, public_url=base.public_url, password=base.password,
                         secret_key=base.secret_key, trusted_user_header=base.trusted_user_header,
                         trusted_proxies=base.trusted_proxies)
    server = WebServer(database, chosen, ("maritime", "arms"), config_path)
    server.start()
    try:
        wait_until(lambda: server.started and server.port() is not None, "uvicorn listening")
        yield f"http://127.0.0.1:{server.port()}"
    finally:
        server.stop()


def csrf(session: requests.Session, url: str) -> tuple[str, str]:
    """GET a page; return its text and its form's CSRF token."""
    page = session.get(url, timeout=60)
    assert page.status_code == 200, (page.status_code, page.text[:500])
    found = TOKEN.search(page.text)
    assert found, "the page has no CSRF field"
    return page.text, found.group(1)
