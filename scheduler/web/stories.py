"""Pages of the story group: the story list, one story, and the analyst's actions on it.

- ``GET /stories`` — newest first, filters (watchlist, source, language, date range, minimum score,
  state, full-text search) in the query string, keyset paging (``?after=``).
- ``GET /stories/{id}`` — title, outlets and their articles, the text with evidence terms marked,
  each watchlist's verdict with its rules and evidence, and the alert history per target.
- ``POST /stories/{id}/judge`` (``watchlist``, ``verdict`` = relevant | not-relevant),
  ``POST /stories/{id}/mute`` (``action`` = mute | unmute), ``POST /stories/{id}/snooze``
  (``kind`` = source | term, ``value``, ``days``) — write through ``alerts.feedback`` and return to
  the story (303), so a reload never posts twice.

Settings read: none beyond the app's.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alerts.feedback import (
    MAX_SNOOZE_DAYS,
    SNOOZE_KINDS,
    active_snoozes,
    judge,
    judgements_of_story,
    mute,
    snooze,
    unmute,
)
from scheduler.web import queries
from scheduler.web.app import Workbench
from scheduler.web.highlight import highlight

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOTES = {"judged": "Judgement saved.", "muted": "Story muted: no further alerts or updates.",
          "unmuted": "Story unmuted.", "snoozed": "Snoozed."}


def _filter(request: Request) -> tuple[queries.StoryFilter, list[str]]:
    q = request.query_params
    problems: list[str] = []
    dates = {}
    for name in ("since", "until"):
        value = q.get(name, "").strip()
        if value and not _DATE.match(value):
            problems.append(f"{name} {value!r} is not a date; write it as YYYY-MM-DD")
            value = ""
        dates[name] = value
    min_score: float | None = None
    raw_score = q.get("min_score", "").strip()
    if raw_score:
        try:
            min_score = float(raw_score)
        except ValueError:
            problems.append(f"minimum score {raw_score!r} is not a number, e.g. 2.5")
    state = q.get("state", "")
    if state and state not in queries.STATES:
        problems.append(f"state {state!r} is unknown; use one of {', '.join(queries.STATES)}")
        state = ""
    f = queries.StoryFilter(watchlist=q.get("watchlist", ""), source=q.get("source", ""),
                            language=q.get("language", ""), since=dates["since"], until=dates["until"],
                            min_score=min_score, state=state, q=q.get("q", "").strip()[:200])
    return f, problems


def routes(web: Workbench) -> list[BaseRoute]:
    """The story group's routes."""

    def home(request: Request) -> Response:
        return RedirectResponse("/stories", status_code=303)

    def story_list(request: Request) -> Response:
        f, problems = _filter(request)
        page = queries.list_stories(web.db().conn, f, request.query_params.get("after"))
        next_url = None
        if page.next_key:
            next_url = "/stories?" + urlencode({**f.as_params(), "after": page.next_key})
        return web.render(request, "stories.html", page=page, f=f, problems=problems, facets=web.facets(),
                          states=queries.STATES, next_url=next_url, first_url="/stories?" + urlencode(f.as_params()),
                          paged=bool(request.query_params.get("after")))

    def story_page(request: Request) -> Response:
        story_id = int(request.path_params["story_id"])
        db = web.db()
        story = queries.get_story(db.conn, story_id)
        if story is None:
            raise HTTPException(404, f"there is no story {story_id}; it may have been pruned")
        marked = {a.id: highlight(a.text or a.summary, story.terms) for a in story.articles}
        titles = {a.id: highlight(a.title, story.terms) for a in story.articles}
        snoozes = active_snoozes(db)
        context: dict[str, Any] = {
            "story": story, "marked": marked, "titles": titles, "judgements": judgements_of_story(db, story_id),
            "watchlists": sorted({v.watchlist for v in story.verdicts}),
            "sources": sorted({a.source for a in story.articles if a.source}),
            "snoozes": snoozes, "max_days": MAX_SNOOZE_DAYS,
            "note": _NOTES.get(request.query_params.get("done", ""), ""),
        }
        return web.render(request, "story.html", title_text=story.title, **context)

    def _back(story_id: int, done: str) -> Response:
        return RedirectResponse(f"/stories/{story_id}?done={done}", status_code=303)

    def _story_exists(story_id: int) -> None:
        if web.db().conn.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone() is None:
            raise HTTPException(404, f"there is no story {story_id}")

    async def judge_story(request: Request) -> Response:
        story_id = int(request.path_params["story_id"])
        form = await web.form(request)
        watchlist, verdict = str(form.get("watchlist", "")), str(form.get("verdict", ""))
        if verdict not in ("relevant", "not-relevant") or not watchlist:
            raise HTTPException(400, f"verdict {verdict!r} for watchlist {watchlist!r}: send watchlist and "
                                "verdict = relevant or not-relevant")

        def write() -> None:
            _story_exists(story_id)
            judge(web.db(), story_id, watchlist, verdict == "relevant", request.state.user)

        await run_in_threadpool(write)
        return _back(story_id, "judged")

    async def mute_story(request: Request) -> Response:
        story_id = int(request.path_params["story_id"])
        form = await web.form(request)
        action = str(form.get("action", "mute"))
        if action not in ("mute", "unmute"):
            raise HTTPException(400, f"action {action!r} is unknown; use mute or unmute")

        def write() -> None:
            _story_exists(story_id)
            if action == "mute":
                mute(web.db(), story_id, request.state.user)
            else:
                unmute(web.db(), story_id)

        await run_in_threadpool(write)
        return _back(story_id, "muted" if action == "mute" else "unmuted")

    async def snooze_story(request: Request) -> Response:
        story_id = int(request.path_params["story_id"])
        form = await web.form(request)
        kind, value, raw_days = str(form.get("kind", "")), str(form.get("value", "")), str(form.get("days", ""))
        if kind not in SNOOZE_KINDS:
            raise HTTPException(400, f"snooze kind {kind!r} is unknown; use source or term")
        try:
            days = float(raw_days)
        except ValueError:
            raise HTTPException(400, f"days {raw_days!r} is not a number; give 1 to {MAX_SNOOZE_DAYS}") from None

        def write() -> None:
            _story_exists(story_id)
            snooze(web.db(), kind, value, days, request.state.user)

        try:
            await run_in_threadpool(write)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return _back(story_id, "snoozed")

    return [
        Route("/", home),
        Route("/stories", story_list),
        Route("/stories/{story_id:int}", story_page),
        Route("/stories/{story_id:int}/judge", judge_story, methods=["POST"]),
        Route("/stories/{story_id:int}/mute", mute_story, methods=["POST"]),
        Route("/stories/{story_id:int}/snooze", snooze_story, methods=["POST"]),
    ]
