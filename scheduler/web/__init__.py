"""The analyst workbench: a small server-rendered web app over the store (`newswatch web`).

Modules, one job each (a page group per module, so new pages plug in beside them):

- ``settings`` — the ``web:`` section of config.yaml (validated by ``scheduler.config``) and
  `WebSettings`, the plain values the app runs on. Importing it does not import Starlette.
- ``app`` — `create_app()`: the Starlette application factory, templates, static files, routing;
  a page group registers its routes through `app.ROUTE_GROUPS`.
- ``security`` — who is asking (password, trusted proxy header, loopback), CSRF tokens, feed
  tokens, the secret key, security headers.
- ``queries`` — the SQL behind the pages (stories list with keyset paging, one story), free of HTTP.
- ``stories`` — the story list, one story, judging, muting and snoozing.
- ``feeds`` — Atom feeds per watchlist and the OPML list of them.
- ``highlight`` — evidence terms wrapped in ``<mark>`` in escaped text.
- ``server`` — uvicorn: in the foreground (`newswatch web`) or on a thread (`newswatch run`).
- ``command`` — the ``newswatch web`` click command.

Settings read: ``web.*`` (see ``settings``).
"""

from scheduler.web.settings import WebSettings

__all__ = ["WebSettings"]
