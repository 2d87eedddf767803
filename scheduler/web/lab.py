"""The watchlist lab: edit one watchlist's YAML and see what the edit would change before saving it.

- ``GET /lab`` — the configured watchlists, each with its judgement count.
- ``GET /lab/{name}`` — the watchlist as written in config.yaml (comments included) in an editor.
- ``POST /lab/{name}`` (``yaml``, ``days``, ``action`` = preview | save):
  *preview* validates the whole file with the edit in place (``load_config``, the parser the daemon
  uses) without writing it, then runs the current and the edited version over the stored articles of
  the last ``days`` days (``alerts.lab.compare_versions``): the stories it would newly flag and stop flagging,
  each with its evidence, and precision/recall against the analysts' judgements before and after.
  *save* writes the edit into config.yaml (``scheduler.config_edit.replace_watchlist``: validated,
  atomic, every other line of the file kept) and returns to the lab (303); the daemon picks the new
  file up as it picks up any edit.

Settings read: the workbench's config file (``Workbench.config_path``) and its database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alerts.errors import AlertsError
from alerts.lab import LabReport, compare_versions, story_labels
from alerts.match.watchlist import WatchlistSpec
from scheduler.config import Config, load_config
from scheduler.config_edit import parse_watchlist_text, replace_watchlist, watchlist_text
from scheduler.errors import ConfigError
from scheduler.web.app import Workbench
from scheduler.web.highlight import highlight

DEFAULT_DAYS = 30
MAX_DAYS = 3650
MAX_TEXT = 200_000  # characters of an edited watchlist (the whole config may be 1 MB)
SHOWN = 200  # changes listed per side; the counts say how many there are in all


@dataclass(frozen=True, slots=True)
class _Outcome:
    report: LabReport | None = None
    problems: tuple[str, ...] = ()


def _config_path(web: Workbench) -> Path:
    if web.config_path is None:
        raise HTTPException(404, "the watchlist lab needs the config file: start the workbench with "
                                 "`newswatch web --config config.yaml` (or from `newswatch run`)")
    return web.config_path


def _load(web: Workbench) -> Config:
    try:
        return load_config(_config_path(web))
    except ConfigError as exc:
        raise HTTPException(500, f"config.yaml is not valid right now, so the lab cannot run: {exc}") from None


def _spec(config: Config, name: str) -> WatchlistSpec:
    for spec in config.watchlists:
        if spec.name == name:
            return spec
    raise HTTPException(404, f"there is no watchlist {name!r} in the config; the lab lists the configured ones")


def _days(raw: str) -> float:
    try:
        days = float(raw or DEFAULT_DAYS)
    except ValueError:
        raise HTTPException(400, f"days {raw!r} is not a number; give 1 to {MAX_DAYS}") from None
    if not 0 < days <= MAX_DAYS:
        raise HTTPException(400, f"days must be more than 0 and at most {MAX_DAYS}, got {days:g}")
    return days


def _edited_name(text: str, fallback: str) -> str:
    try:
        name = parse_watchlist_text(text).get("name")
    except ValueError:
        return fallback
    return name if isinstance(name, str) and name else fallback


def preview(web: Workbench, name: str, text: str, days: float) -> _Outcome:
    """Validate the edit as part of the whole file, then compare the two versions on stored articles."""
    path = _config_path(web)
    current_config = _load(web)
    current = _spec(current_config, name)
    try:
        edited_config = replace_watchlist(path, name, text, write=False)
    except ConfigError as exc:
        return _Outcome(problems=tuple(f"{where}: {message}" for where, message in exc.problems))
    edited = _spec(edited_config, _edited_name(text, name))
    try:
        report = compare_versions(web.db(), current, edited, edited_config.gazetteer, days=days,
                         labels=story_labels(web.db(), name))
    except AlertsError as exc:
        return _Outcome(problems=(str(exc),))
    return _Outcome(report=report)


def _evidence_view(report: LabReport) -> dict[tuple[str, int], Any]:
    """Each changed item's evidence sentences with their terms marked (escaped, then <mark>)."""
    marked: dict[tuple[str, int], Any] = {}
    for change in (*report.newly_flagged, *report.no_longer_flagged):
        verdict = change.after if change.after.flagged else change.before
        marked[change.item.key] = [(ev, highlight(ev.sentence, [ev.term])) for ev in verdict.evidence[:6]]
    return marked


def routes(web: Workbench) -> list[BaseRoute]:
    """The lab's routes."""

    def lab_index(request: Request) -> Response:
        config = _load(web)
        counts = {w.name: len(story_labels(web.db(), w.name)) for w in config.watchlists}
        return web.render(request, "lab_index.html", title_text="Watchlist lab", watchlists=config.watchlists,
                          counts=counts, config_path=str(_config_path(web)))

    def _page(request: Request, name: str, text: str, days: float, outcome: _Outcome | None,
              status_code: int = 200) -> Response:
        return web.render(request, "lab.html", status_code=status_code, title_text=f"Lab: {name}", name=name,
                          text=text, days=days, outcome=outcome,
                          evidence=_evidence_view(outcome.report) if outcome and outcome.report else {},
                          shown=SHOWN, saved=request.query_params.get("done") == "saved",
                          labels=len(story_labels(web.db(), name)), config_path=str(_config_path(web)))

    def lab_page(request: Request) -> Response:
        name = request.path_params["name"]
        _spec(_load(web), name)
        try:
            text = watchlist_text(_config_path(web), name)
        except ConfigError as exc:
            raise HTTPException(400, str(exc)) from None
        return _page(request, name, text, DEFAULT_DAYS, None)

    async def lab_post(request: Request) -> Response:
        name = request.path_params["name"]
        form = await web.form(request)
        text = str(form.get("yaml", "")).replace("\r\n", "\n")
        days = _days(str(form.get("days", "")))
        action = str(form.get("action", "preview"))
        if len(text) > MAX_TEXT:
            raise HTTPException(413, f"the watchlist is {len(text):,} characters; the lab takes at most {MAX_TEXT:,}")
        if action == "save":
            try:
                config = await run_in_threadpool(replace_watchlist, _config_path(web), name, text)
            except ConfigError as exc:
                outcome = _Outcome(problems=tuple(f"{where}: {message}" for where, message in exc.problems))
                return _page(request, name, text, days, outcome, status_code=400)
            saved = _edited_name(text, name)
            if saved not in {w.name for w in config.watchlists}:
                saved = name
            return RedirectResponse(f"/lab/{saved}?done=saved", status_code=303)
        if action != "preview":
            raise HTTPException(400, f"action {action!r} is unknown; use preview or save")
        outcome = await run_in_threadpool(preview, web, name, text, days)
        return _page(request, name, text, days, outcome, status_code=400 if outcome.problems else 200)

    return [
        Route("/lab", lab_index),
        Route("/lab/{name}", lab_page),
        Route("/lab/{name}", lab_post, methods=["POST"]),
    ]
