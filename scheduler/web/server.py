"""Serving the workbench with uvicorn: in the foreground (`newswatch web`) or on a thread beside the
daemon (`newswatch run` with ``web.port`` set).

On its own thread uvicorn runs its own asyncio loop and installs no signal handlers (it only does so
on the main thread), so the daemon's SIGTERM/SIGHUP handling is untouched; `WebServer.stop()` asks it
to finish and waits for the thread.

Settings read: ``web.host``, ``web.port`` (through the caller).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import uvicorn

from scheduler.web.app import create_app
from scheduler.web.settings import WebSettings

logger = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, but SIGTERM/SIGINT end `newswatch web` with exit code 0.

    uvicorn re-raises a captured signal once it has shut down, so the process would die of SIGTERM
    (exit -15) after a clean stop; service managers and tests expect 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self.handle_exit) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _config(database: Path, settings: WebSettings, watchlists: Sequence[str], port: int,
            config_path: Path | None = None) -> uvicorn.Config:
    app = create_app(database, settings, watchlists, config_path)
    # log_config=None: keep newswatch's logging (and its redaction of secrets) instead of uvicorn's own.
    return uvicorn.Config(app, host=settings.host, port=port, log_config=None, access_log=False,
                          server_header=False, proxy_headers=False, lifespan="off")


def serve(database: Path, settings: WebSettings, watchlists: Sequence[str] = (), port: int | None = None,
          config_path: Path | None = None) -> None:
    """Serve the workbench in the foreground until Ctrl-C or SIGTERM."""
    chosen = settings.port if port is None else port
    server = _Server(_config(database, settings, watchlists, chosen, config_path))
    server.run()


class WebServer:
    """The workbench on a background thread (the daemon's `web.port`)."""

    def __init__(self, database: Path, settings: WebSettings, watchlists: Sequence[str] = (),
                 config_path: Path | None = None) -> None:
        self._server = uvicorn.Server(_config(database, settings, watchlists, settings.port, config_path))
        self._thread = threading.Thread(target=self._server.run, name="newswatch-web", daemon=True)

    def start(self) -> None:
        """Start serving; returns at once."""
        self._thread.start()
        logger.info("workbench listening on http://%s:%d", self._server.config.host, self._server.config.port)

    @property
    def started(self) -> bool:
        """Whether uvicorn is accepting connections."""
        return bool(self._server.started)

    def port(self) -> int | None:
        """The port actually bound (useful when 0 was asked for), once started."""
        for server in getattr(self._server, "servers", []) or []:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait (at most `timeout` seconds) for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)
