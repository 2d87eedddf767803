"""A total deadline for one send: a watchdog that shuts the send's sockets when time is up.

A socket timeout bounds each read or write, not a whole exchange: a receiver that answers one byte
every few seconds keeps a `requests` call or an SMTP session alive for ever. `Deadline` starts a
watchdog thread; when `seconds` have passed it shuts down (``shutdown(SHUT_RDWR)``, which also wakes a
read blocked in another thread) every socket registered with it, and keeps doing so for sockets
registered later, until the send returns. The send then fails with the usual connection error and
the channel reports it as a retryable timeout (`Deadline.expired` tells the two apart).

`http_session()` gives a `requests.Session` whose connections register their sockets with the
deadline that is current in the calling thread (`Deadline` is a context manager that makes itself
current), so HTTP channels need no other change; SMTP registers its client's socket itself.

Settings read: none (channels pass each target's `timeout` as the deadline).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()
_RECHECK = 0.2  # seconds between shutdowns once the deadline has passed (sockets opened late)

SocketSource = Callable[[], "socket.socket | None"]


class Deadline:
    """Shut the registered sockets `seconds` after entering, until the block exits.

    Args:
        seconds: the total time the send may take.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sources: list[SocketSource] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="newswatch-deadline", daemon=True)
        self._previous: Deadline | None = None

    def watch(self, source: SocketSource) -> None:
        """Register a socket (or a callable returning the current socket, or None) to shut at the deadline."""
        with self._lock:
            self._sources.append(source)
            expired = self.expired
        if expired:
            _shut(source)

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        with self._lock:
            self.expired = True
        while True:
            with self._lock:
                sources = list(self._sources)
            for source in sources:
                _shut(source)
            if self._done.wait(_RECHECK):
                return

    def __enter__(self) -> Deadline:
        self._previous = getattr(_current, "deadline", None)
        _current.deadline = self
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        _current.deadline = self._previous
        self._thread.join()


def _shut(source: SocketSource) -> None:
    sock = source()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _register(sock: socket.socket) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(lambda: sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register(sock)
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register(sock)
        return sock


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def http_session() -> requests.Session:
    """A fresh `requests.Session` whose sockets obey the `Deadline` current in the calling thread."""
    session = requests.Session()
    adapter = _WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
