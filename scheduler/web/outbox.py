"""The outbox page: what waits to be sent, what is held, what was given up on — and a retry button.

- ``GET /outbox`` — per target: messages pending (queued or being retried), held (digests still
  collecting stories) and dead-lettered (given up after the last attempt, or refused for good), with
  the last error (already free of secrets); then the rows themselves, newest first, with their story.
- ``POST /outbox/retry`` (``target``) — queue that target's dead-lettered messages again, due now with
  a fresh attempt count (``alerts.retry_dead``, what ``newswatch alerts retry`` does); back to the
  page (303).

Settings read: none beyond the app's (the store's ``outbox`` and ``stories`` tables).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alerts import outbox_summary, retry_dead
from scheduler.web.app import Workbench

ROWS_SHOWN = 300
STATES = ("pending", "collecting", "dead")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One waiting, held or dead message."""

    id: int
    target: str
    kind: str
    status: str
    story_id: int
    title: str
    watchlists: tuple[str, ...]
    attempts: int
    next_attempt_at: str
    created_at: str
    last_error: str | None


def outbox_rows(web: Workbench, status: str = "") -> list[OutboxRow]:
    """The pending, held and dead rows (or those of one `status`), newest first."""
    wanted = [status] if status in STATES else list(STATES)
    marks = ",".join("?" * len(wanted))
    rows = web.db().execute(
        "SELECT o.id, o.target, o.kind, o.status, o.story_id, COALESCE(s.title, o.subject, ''), o.watchlists, "
        "o.attempts, o.next_attempt_at, o.created_at, o.last_error FROM outbox o "
        f"LEFT JOIN stories s ON s.id = o.story_id WHERE o.status IN ({marks}) ORDER BY o.id DESC LIMIT ?",
        [*wanted, ROWS_SHOWN]).fetchall()
    return [OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", tuple(json.loads(r[6] or "[]")), r[7], r[8], r[9],
                      r[10]) for r in rows]


def routes(web: Workbench) -> list[BaseRoute]:
    """The outbox page's routes."""

    def outbox_page(request: Request) -> Response:
        status = request.query_params.get("status", "")
        done = request.query_params.get("retried")
        note = ""
        if done is not None:
            note = f"{done} dead-lettered message(s) of {request.query_params.get('target', '')} queued again."
        return web.render(request, "outbox.html", title_text="Outbox", summary=outbox_summary(web.db()),
                          rows=outbox_rows(web, status), status=status, note=note, shown=ROWS_SHOWN)

    async def retry(request: Request) -> Response:
        form = await web.form(request)
        target = str(form.get("target", "")).strip()
        if not target:
            raise HTTPException(400, "say which target's dead-lettered messages to retry (field target)")
        count = await run_in_threadpool(lambda: retry_dead(web.db(), target))  # the thread's own connection
        return RedirectResponse("/outbox?" + urlencode({"retried": count, "target": target}), status_code=303)

    return [Route("/outbox", outbox_page), Route("/outbox/retry", retry, methods=["POST"])]
