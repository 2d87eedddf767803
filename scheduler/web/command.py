"""The ``newswatch web`` command: serve the workbench over the configured database.

Kept beside the web package so that ``scheduler.cli`` only registers it (one line); it loads the
config itself with ``scheduler.config.load_config``.

Settings read: ``database``, ``watchlists`` (names), ``web.*``, ``log_level``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from scheduler.config import load_config
from scheduler.errors import ConfigError
from scheduler.web.settings import DEFAULT_PORT, WebSettings, check_exposure


class _ConfigProblem(click.ClickException):
    exit_code = 2


@click.command("web")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("config.yaml"), envvar="NEWSWATCH_CONFIG", show_default=True, help="The configuration file.")
@click.option("--host", default=None, help="Listen on this address instead of web.host (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help=f"Listen on this port instead of web.port ({DEFAULT_PORT} when web.port is 0).")
def web(config_path: Path, host: str | None, port: int | None) -> None:
    """Serve the analyst workbench: stories, evidence, judging, muting, Atom feeds.

    Bound to 127.0.0.1 it is open to local users; on any other address it needs web.password
    (HTTP Basic) or web.trusted_user_header behind a reverse proxy.

    \b
    Example:
      newswatch web --port 8765            # then open http://127.0.0.1:8765/
      NEWSWATCH_WEB_PASSWORD=… newswatch web --host 0.0.0.0
                                           # with web.password: ${NEWSWATCH_WEB_PASSWORD} in config.yaml
    """
    from scheduler.app import configure_logging
    from scheduler.redact import install_redaction

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise _ConfigProblem(str(exc)) from None
    configure_logging(config.log_level)
    install_redaction(config.secrets)
    settings: WebSettings = getattr(config, "web", None) or WebSettings()
    settings = dataclasses.replace(settings, host=host or settings.host)
    chosen = port if port is not None else (settings.port or DEFAULT_PORT)
    try:
        check_exposure(settings)
    except ValueError as exc:
        raise _ConfigProblem(str(exc)) from None
    from scheduler.web.server import serve

    click.echo(f"newswatch workbench on http://{settings.host}:{chosen}/ (Ctrl-C stops it)", err=True)
    serve(config.database, settings, [w.name for w in config.watchlists], port=chosen, config_path=config_path)
