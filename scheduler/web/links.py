"""The pages behind the links in alerts: one-click "not relevant" judging from Slack or email.

- ``GET /judge/{token}`` — checks the token (``alerts.links.read_judge_token``: signature, expiry)
  and shows the story and the watchlist with one *Not relevant* button. Nothing is recorded by the
  GET: mail scanners and link previewers open links, and must not judge for the analyst.
- ``POST /judge/{token}`` — checks the form (CSRF, Origin) and the token again, records the
  judgement (``alerts.feedback.judge``, by the signed-in user) and goes to the story's page (303).

A forged, altered or expired token is refused with 403 and a message saying to judge on the story's
page. The link does not sign anyone in: where the workbench needs a password or a proxy's sign-in,
the analyst passes it as for any page; the token only vouches that the story, the watchlist and the
verdict came from an alert newswatch sent.

Settings read: the workbench's secret key (``web.secret_key`` or the generated one).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alerts import TokenError, read_judge_token
from alerts.feedback import judge, judgements_of_story
from alerts.links import JudgeToken
from scheduler.web.app import Workbench


def routes(web: Workbench) -> list[BaseRoute]:
    """The judge link's routes."""

    def _token(request: Request) -> JudgeToken:
        try:
            return read_judge_token(web.key, request.path_params["token"], datetime.now(UTC))
        except TokenError as exc:
            raise HTTPException(403, str(exc)) from None

    def _title(story_id: int) -> str:
        row = web.db().conn.execute("SELECT title FROM stories WHERE id = ?", [story_id]).fetchone()
        if row is None:
            raise HTTPException(404, f"there is no story {story_id}; it may have been pruned")
        return str(row[0] or "(no title)")

    def confirm(request: Request) -> Response:
        token = _token(request)
        earlier = judgements_of_story(web.db(), token.story_id).get(token.watchlist)
        return web.render(request, "judge_link.html", title_text="Not relevant?", token=token,
                          story_title=_title(token.story_id), earlier=earlier,
                          action=request.url.path)

    async def record(request: Request) -> Response:
        await web.form(request)
        token = _token(request)

        def write() -> None:
            _title(token.story_id)
            judge(web.db(), token.story_id, token.watchlist, False, request.state.user)

        await run_in_threadpool(write)
        return RedirectResponse(f"/stories/{token.story_id}?done=judged", status_code=303)

    return [Route("/judge/{token}", confirm), Route("/judge/{token}", record, methods=["POST"])]
