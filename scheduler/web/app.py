"""The workbench's Starlette application: factory, templates, auth, CSRF, security headers, routing.

`create_app()` builds one application over one SQLite file. Page groups live in their own modules and
contribute routes through `ROUTE_GROUPS` (a module with a ``routes(web: Workbench) -> list[Route]``
function); add a module there to plug in a new page group. Every page is rendered on the server by
Jinja2 with autoescape on, so reading works with JavaScript off; the CSS and the small script in
``static/`` are ours, served by the app itself (nothing is fetched from elsewhere: the CSP forbids it).

Requests: a middleware adds the security headers to every response and decides who is asking
(``scheduler.web.security.identify``); static files and Atom feeds (which carry their own token) pass
without it. Forms are checked by `Workbench.form()` (CSRF token and Origin) before any write.

Database: each worker thread keeps its own connection to the file (sqlite3 connections are not shared
between threads); the schema is ensured once at start (crawler, alerts and feedback tables).

Settings read: ``web.*`` (through `WebSettings`), the database path and the watchlist names.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from alerts.links import signing_key
from scheduler.schema import open_store
from scheduler.web import queries
from scheduler.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    csrf_ok,
    csrf_pair,
    identify,
    same_origin,
)
from scheduler.web.settings import WebSettings, check_exposure

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# Page groups: modules with `routes(web) -> list[BaseRoute]`. Add one here to plug in a page group.
ROUTE_GROUPS: tuple[str, ...] = ("scheduler.web.stories", "scheduler.web.feeds", "scheduler.web.lab",
                                 "scheduler.web.sources", "scheduler.web.outbox", "scheduler.web.links")
# Paths open without signing in: our own CSS/JS, and feeds (each checks its own token).
PUBLIC_PREFIXES = ("/static/", "/feeds/")
FACETS_TTL = 60.0


class Workbench:
    """What the pages share: settings, the signing key, templates and per-thread database connections."""

    def __init__(self, database: Path, settings: WebSettings, watchlists: Sequence[str] = (),
                 config_path: Path | None = None) -> None:
        check_exposure(settings)
        self.config_path = config_path  # config.yaml, for the pages that read or edit it (lab, sources)
        self.database = Path(database)
        self.settings = settings
        self.watchlists = tuple(watchlists)
        setup = open_store(self.database)  # every package's migrations (feedback tables included)
        # The one key of alerts.links: it signs these tokens and the one-click links in alerts.
        self.key = signing_key(setup.conn, settings.secret_key)
        setup.conn.close()
        self._local = threading.local()
        self._facets: tuple[float, dict[str, list[str]]] | None = None
        self.templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                                     autoescape=select_autoescape(default=True, default_for_string=True))

    def db(self) -> sqlite_utils.Database:
        """This thread's connection to the store."""
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(str(self.database), timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def facets(self) -> dict[str, list[str]]:
        """The filter form's choices, cached for a minute."""
        now = time.monotonic()
        if self._facets is None or now - self._facets[0] > FACETS_TTL:
            found = queries.facet_values(self.db().conn)
            if self.watchlists:
                found["watchlists"] = sorted({*self.watchlists, *found["watchlists"]})
            self._facets = (now, found)
        return self._facets[1]

    def base_url(self, request: Request) -> str:
        """The workbench's address for links leaving the page (feeds, OPML): `web.public_url` or the request's."""
        return self.settings.public_url or str(request.base_url).rstrip("/")

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A page from `templates/`, with the user, the CSRF token and the request in its context."""
        nonce, token = csrf_pair(self.key, request.cookies.get(CSRF_COOKIE))
        html = self.templates.get_template(template).render(
            request=request, user=getattr(request.state, "user", None), csrf_field=CSRF_FIELD, csrf_token=token,
            **context)
        response = HTMLResponse(html, status_code=status_code)
        if request.cookies.get(CSRF_COOKIE) != nonce:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
        return response

    async def form(self, request: Request) -> FormData:
        """The posted form, after checking its CSRF token and Origin.

        Raises:
            HTTPException: 403 when the token does not match the cookie or the form comes from another site.
        """
        form = await request.form()
        token = form.get(CSRF_FIELD)
        if not same_origin(request.headers.get("origin"), request.headers.get("host")):
            raise HTTPException(403, "this form was sent from another site; reload the page and try again")
        if not csrf_ok(self.key, request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None):
            raise HTTPException(403, "the form's security token is missing or stale; reload the page and try again")
        return form


def _security_middleware(web: Workbench) -> type[BaseHTTPMiddleware]:
    class SecurityMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            response: Response
            if request.url.path.startswith(PUBLIC_PREFIXES):
                response = await call_next(request)
            else:
                headers = {k.lower(): v for k, v in request.headers.items()}
                who = identify(web.settings, headers, request.client.host if request.client else None)
                if who.user is None:
                    response = PlainTextResponse(f"401 Unauthorized: {who.why}", status_code=401)
                    if web.settings.password:
                        response.headers["www-authenticate"] = 'Basic realm="newswatch", charset="UTF-8"'
                else:
                    request.state.user = who.user
                    response = await call_next(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

    return SecurityMiddleware


def _error_page(web: Workbench) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error (see the server's log)"
        if status == 500:
            logger.error("workbench: %s %s failed", request.method, request.url.path, exc_info=exc)
        return web.render(request, "error.html", status_code=status, status=status, detail=detail)

    return handler


def create_app(database: str | Path, settings: WebSettings | None = None, watchlists: Sequence[str] = (),
               config_path: str | Path | None = None) -> Starlette:
    """Build the workbench application.

    Args:
        database: the SQLite file newswatch writes (created with its tables when missing).
        settings: the ``web:`` settings (defaults: loopback, no password).
        watchlists: the configured watchlist names (feeds exist for these and for any stored in matches).
        config_path: config.yaml, which the watchlist lab edits and the sources page reads (None: those
            pages say the workbench was started without one).

    Returns:
        A Starlette app; serve it with uvicorn (``scheduler.web.server``).

    Raises:
        ValueError: the settings expose the workbench beyond loopback without a password or proxy header.
    """
    web = Workbench(Path(database), settings or WebSettings(), watchlists,
                    Path(config_path) if config_path is not None else None)
    routes: list[BaseRoute] = []
    for name in ROUTE_GROUPS:
        routes += importlib.import_module(name).routes(web)
    routes.append(Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"))
    handler = _error_page(web)
    app = Starlette(routes=routes, middleware=[Middleware(_security_middleware(web))],
                    exception_handlers={HTTPException: handler, Exception: handler})
    app.state.workbench = web
    return app
