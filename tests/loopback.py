"""Real servers on 127.0.0.1 for tests: a website, a webhook receiver and an SMTP sink.

Every server binds port 0 and reports its URL, so tests never collide and never leave loopback.
"""

from __future__ import annotations

import contextlib
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    """One request a loopback server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    trickle: float = 0.0  # when set: send the body 64 bytes at a time, this many seconds apart


@dataclass
class Answered:
    """A request the server is done with: how much of the body it wrote before it ended or the client
    went away (as far as the server can tell: a write into a closed connection may still succeed)."""

    request: Request
    status: int
    body_bytes_sent: int
    body_bytes: int


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(request)
        response = owner.respond(request)
        if response.delay:
            time.sleep(response.delay)
        self.send_response(response.status)
        headers = {"Content-Length": str(len(response.body)), **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            # The client may give up (size limits, timeouts): that is what such tests check.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if not response.trickle:
                    self.wfile.write(response.body)
                    sent = len(response.body)
                for start in range(0, len(response.body) if response.trickle else 0, 64):
                    self.wfile.write(response.body[start : start + 64])
                    self.wfile.flush()
                    sent = min(len(response.body), start + 64)
                    time.sleep(response.trickle)
        with owner.lock:
            owner.answered.append(Answered(request, response.status, sent, len(response.body)))

    do_GET = do_POST = do_HEAD = do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackHTTPServer


class LoopbackHTTPServer:
    """A threaded HTTP server on 127.0.0.1 with routes that tests can change while it runs."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.answered: list[Answered] = []
        self.routes: dict[str, Handler] = {}
        self._server = _Server((host, 0), _RequestHandler)  # another 127.x.y.z is another host
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler) -> None:
        with self.lock:
            self.routes[path] = handler

    def add(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
            status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Serve a fixed body at `path`."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        fixed = Response(status, data, {"Content-Type": content_type, **(headers or {})})
        self.route(path, lambda _request: fixed)

    def respond(self, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        with self.lock:
            handler = self.routes.get(request.path) or self.routes.get(path)
        if handler is None:
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        return handler(request)

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def answered_at(self, path: str) -> list[Answered]:
        """The requests to `path` the server has finished answering (or abandoned)."""
        with self.lock:
            return [a for a in self.answered if a.request.path.split("?", 1)[0] == path]


class WebhookReceiver(LoopbackHTTPServer):
    """Accepts POSTs at any path; answers with scripted statuses first, then 200.

    `script([500, 429])` makes the next two calls fail; `retry_after` adds that header to 429s.
    """

    def __init__(self) -> None:
        super().__init__()
        self._script: list[int] = []
        self._outcomes: list[bool] = []
        self.retry_after: str | None = None

    def script(self, statuses: list[int]) -> None:
        with self.lock:
            self._script = list(statuses)

    @property
    def received(self) -> list[Request]:
        """The POSTs that were answered 2xx (what a real receiver would have accepted)."""
        with self.lock:
            return [r for r, ok in zip(self.requests, self._outcomes, strict=False) if ok]

    def respond(self, request: Request) -> Response:
        with self.lock:
            status = self._script.pop(0) if self._script else 200
            self._outcomes.append(200 <= status < 300)
        headers = {"Content-Type": "text/plain"}
        if status == 429 and self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return Response(status, b"ok" if status < 300 else b"error", headers)


def _free_port() -> int:
    """A port that was free a moment ago: aiosmtpd's Controller connects to its own port to check it
    started, which fails for port 0, so the sinks pick a concrete free port first."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SMTPSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives.

    Args:
        credentials: (user, password) to offer and check AUTH with; `logins` records who logged in and
            a wrong password is answered 535.
        server_tls: the server's TLS context: STARTTLS (required before AUTH and mail), or implicit
            TLS with `implicit`. `tls_sessions` counts messages received over TLS.
    """

    def __init__(self, *, credentials: tuple[str, str] | None = None, server_tls: ssl.SSLContext | None = None,
                 implicit: bool = False) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.raw: list[bytes] = []  # each message's bytes as received, for strict parsing (`parsed()`)
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self.tls_sessions = 0
        sink = self

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.tls_sessions += session.ssl is not None or implicit
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                sink.raw.append(bytes(envelope.original_content))
                sink.messages.append(message_from_bytes(envelope.content))
                return "250 Message accepted for delivery"

        options: dict[str, Any] = {}
        if credentials is not None:
            strict = server_tls is not None and not implicit  # over STARTTLS: no AUTH before TLS
            options.update(authenticator=self._authenticator(*credentials), auth_required=strict,
                           auth_require_tls=strict)
        if server_tls is not None:
            options.update({"ssl_context": server_tls} if implicit else
                           {"tls_context": server_tls, "require_starttls": True})
        self._controller = Controller(_Handler(), hostname="127.0.0.1", port=_free_port(), **options)

    def _authenticator(self, username: str, password: str) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == username
                  and auth_data.password.decode() == password)
            if ok:
                self.logins.append(username)
            return AuthResult(success=ok, handled=False)

        return check

    def __enter__(self) -> SMTPSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return int(self._controller.server.sockets[0].getsockname()[1])

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def parsed(self) -> list[EmailMessage]:
        """The messages received, parsed from their raw bytes with `email.policy.default` (which records
        every defect it meets on the message and its parts)."""
        parsed = []
        for raw in self.raw:
            message = message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


class AuthSMTPSink(SMTPSink):
    """An SMTP sink that offers and checks AUTH over plain SMTP (a stand-in for a relay's login)."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(credentials=(username, password))


class TLSSMTPSink(SMTPSink):
    """An SMTP sink with TLS from a PEM certificate and key: STARTTLS required, or implicit TLS."""

    def __init__(self, cert_file: str, key_file: str, *, implicit: bool = False, username: str = "newswatch",
                 password: str = "pa55-w0rd") -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        super().__init__(credentials=(username, password), server_tls=context, implicit=implicit)


class FakeSlackAPI(LoopbackHTTPServer):
    """Slack's Web API `chat.postMessage` on loopback: checks the bearer token and channel like Slack.

    Answers HTTP 200 ``{"ok": true, "channel", "ts"}`` with a fresh ts per message, or ``{"ok": false,
    "error": "invalid_auth"}`` / ``"channel_not_found"`` as Slack does. `script([...])` queues the next
    answers: an int is an HTTP status (429 carries `Retry-After: retry_after`), a str an ``ok: false``
    error code. `posts` holds the JSON bodies of the messages it accepted.
    """

    def __init__(self, token: str, channels: tuple[str, ...] = ("C0123ABCD",)) -> None:
        super().__init__()
        self.token = token
        self.channels = channels
        self.posts: list[dict[str, Any]] = []
        self.retry_after = "1"
        self._script: list[int | str] = []
        self._counter = 0
        self.route("/api/chat.postMessage", self._post_message)

    @property
    def api_url(self) -> str:
        return self.url("/api")

    def script(self, answers: list[int | str]) -> None:
        with self.lock:
            self._script = list(answers)

    def _json(self, payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
        import json

        return Response(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _post_message(self, request: Request) -> Response:
        import json

        with self.lock:
            scripted = self._script.pop(0) if self._script else None
        if isinstance(scripted, int):
            headers = {"Retry-After": self.retry_after} if scripted == 429 else {}
            return self._json({"ok": False, "error": "ratelimited"} if scripted == 429 else {"ok": False},
                              scripted, headers)
        if isinstance(scripted, str):
            return self._json({"ok": False, "error": scripted})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._json({"ok": False, "error": "invalid_auth"})
        payload = json.loads(request.body)
        if payload.get("channel") not in self.channels:
            return self._json({"ok": False, "error": "channel_not_found"})
        with self.lock:
            self._counter += 1
            ts = f"1717228800.{self._counter:06d}"
            self.posts.append({**payload, "ts": ts})
        return self._json({"ok": True, "channel": payload["channel"], "ts": ts,
                           "message": {"text": payload.get("text")}})


class DripServer:
    """Accepts connections on 127.0.0.1 and sends each one byte a second, at most 300 bytes, until stopped."""

    def __init__(self, prefix: bytes = b"HTTP/1.1 200 OK\r\nX-Drip: ") -> None:
        self.prefix = prefix
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.dripping = 0  # connections being dripped on now
        self.connections = 0  # connections accepted so far
        self.lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with self.lock:
            self.dripping += 1
            self.connections += 1
        self.connected.set()
        payload = self.prefix + b"a" * 300
        try:
            for byte in payload:
                conn.sendall(bytes([byte]))
                if self.stop.wait(1.0):
                    break
        except OSError:
            pass  # the client gave up: what the test wants
        finally:
            with self.lock:
                self.dripping -= 1
            conn.close()

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()
        self._sock.close()
