"""Atom feeds, one per watchlist, and the OPML file that lists them.

- ``GET /feeds/{watchlist}.atom?token=…`` — the 50 most recently active stories the watchlist
  matched: title, link to the story's first article and to its workbench page, outlets, times and
  the evidence (term, field, sentence). The token is `security.feed_token()` of the watchlist; a
  missing or wrong token is refused with 403 before anything about the watchlist is said.
- ``GET /feeds.opml`` — behind the workbench's sign-in: every watchlist's feed URL with its token,
  for importing into a feed reader.

Documents are built with ElementTree, which escapes every text and attribute: a hostile title stays
text. Links use `web.public_url` when set (what readers elsewhere can reach).

Settings read: ``web.public_url``.
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scheduler.web.app import Workbench
from scheduler.web.security import feed_token, feed_token_ok

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


def _known(web: Workbench, conn: sqlite3.Connection) -> list[str]:
    stored = [r[0] for r in conn.execute("SELECT DISTINCT watchlist FROM matches")]
    return sorted({*web.watchlists, *stored})


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _evidence_text(conn: sqlite3.Connection, story_id: int, watchlist: str) -> str:
    best = 0.0
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for score, threshold, evidence in conn.execute(
            "SELECT score, threshold, evidence FROM matches WHERE story_id = ? AND watchlist = ? ORDER BY article_id",
            [story_id, watchlist]):
        if float(score or 0) > best:
            best = float(score or 0)
            lines.insert(0, f"Score {float(score or 0):g} / threshold {float(threshold or 0):g}")
        for ev in json.loads(evidence or "[]"):
            key = (str(ev.get("term")), str(ev.get("sentence")))
            if key in seen or len(seen) >= 10:
                continue
            seen.add(key)
            lines.append(f"- {ev.get('term')} ({ev.get('rule')}, {ev.get('field')}): {ev.get('sentence')}")
    return "\n".join(lines)


def atom_feed(conn: sqlite3.Connection, watchlist: str, base_url: str, self_url: str,
              now: datetime | None = None) -> bytes:
    """The Atom document of one watchlist's stories (UTF-8 bytes)."""
    ET.register_namespace("", ATOM)
    rows = conn.execute(
        "SELECT s.id, s.title, s.url, s.first_seen, s.last_seen, s.outlets FROM stories s "
        "WHERE EXISTS (SELECT 1 FROM matches m WHERE m.story_id = s.id AND m.watchlist = ?) "
        "ORDER BY s.last_seen DESC, s.id DESC LIMIT ?", [watchlist, FEED_SIZE]).fetchall()
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", f"{base_url}/feeds/{quote(watchlist)}.atom")
    _sub(feed, "title", f"newswatch: {watchlist}")
    updated = rows[0][4] if rows else (now or datetime.now(UTC)).isoformat(timespec="seconds")
    _sub(feed, "updated", updated)
    author = _sub(feed, "author")
    _sub(author, "name", "newswatch")
    _sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=f"{base_url}/stories?{urlencode({'watchlist': watchlist})}",
         type="text/html")
    _sub(feed, "generator", "newswatch")
    for story_id, title, url, first_seen, last_seen, outlets_json in rows:
        outlets = json.loads(outlets_json or "[]")
        evidence = _evidence_text(conn, story_id, watchlist)
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"{base_url}/stories/{story_id}")
        _sub(entry, "title", title or f"story {story_id}")
        if url:
            _sub(entry, "link", rel="alternate", href=url)
        _sub(entry, "link", rel="related", href=f"{base_url}/stories/{story_id}", type="text/html")
        _sub(entry, "published", first_seen)
        _sub(entry, "updated", last_seen)
        for outlet in outlets:
            _sub(entry, "category", term=str(outlet), label=f"outlet: {outlet}")
        summary = f"Reported by {', '.join(map(str, outlets)) or 'one outlet'}.\n{evidence}"
        _sub(entry, "summary", summary, type="text")
    document = bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=False))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + document


def opml(watchlists: list[tuple[str, str]], now: datetime | None = None) -> bytes:
    """An OPML 2.0 document listing (watchlist, feed URL) pairs."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "newswatch watchlists"
    ET.SubElement(head, "dateCreated").text = (now or datetime.now(UTC)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = ET.SubElement(root, "body")
    for name, url in watchlists:
        ET.SubElement(body, "outline", type="rss", text=f"newswatch: {name}", title=f"newswatch: {name}",
                      xmlUrl=url)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))


def feed_url(web: Workbench, base_url: str, watchlist: str) -> str:
    """The URL of a watchlist's feed, token included."""
    return f"{base_url}/feeds/{quote(watchlist, safe='')}.atom?{urlencode({'token': feed_token(web.key, watchlist)})}"


def routes(web: Workbench) -> list[BaseRoute]:
    """The feed group's routes."""

    def atom(request: Request) -> Response:
        watchlist = request.path_params["watchlist"]
        if not feed_token_ok(web.key, watchlist, request.query_params.get("token")):
            return Response("403 Forbidden: this feed needs its token (see /feeds.opml in the workbench)\n",
                            status_code=403, media_type="text/plain")
        conn = web.db().conn
        if watchlist not in _known(web, conn):
            raise HTTPException(404, f"there is no watchlist {watchlist!r}")
        base = web.base_url(request)
        body = atom_feed(conn, watchlist, base, feed_url(web, base, watchlist))
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def opml_file(request: Request) -> Response:
        base = web.base_url(request)
        pairs = [(name, feed_url(web, base, name)) for name in _known(web, web.db().conn)]
        return Response(opml(pairs), media_type="text/x-opml; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="newswatch.opml"'})

    def feed_list(request: Request) -> Response:
        base = web.base_url(request)
        pairs = [(name, feed_url(web, base, name)) for name in _known(web, web.db().conn)]
        return web.render(request, "feeds.html", feeds=pairs)

    return [
        Route("/feeds/{watchlist}.atom", atom),
        Route("/feeds.opml", opml_file),
        Route("/feeds", feed_list),
    ]
