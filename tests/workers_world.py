"""A loopback world for the workers: Redis, a news site of many hosts, and the brain and worker processes.

- `RedisServer`: a real `redis-server` on a free loopback port, no persistence; `redis_or_skip()`
  skips a test with the reason when the binary is missing.
- `ManyHostSite`: one HTTP server per host, bound on 127.0.0.2, 127.0.0.3, ... (each address is its
  own host to Scrapy, robots.txt and the brain's domain affinity). Each host serves two RSS feeds,
  article pages (optionally slow), and a robots.txt that forbids `/private/`; it counts the requests
  in flight at once per host, so a test can check per-host concurrency at the server.
- `write_config()`: feeds of every host, the default watchlists and targets, and `workers:`.
- `Proc`: a `newswatch` subprocess in its own session, log to a file, killable with its whole tree.

Used by tests/scheduler/test_workers.py and bench/bench_workers.py. Settings read: none.
"""

from __future__ import annotations

import contextlib
import html
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_site import NEWSWATCH, article_page
from tests.loopback import LoopbackHTTPServer, Request, Response
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """`redis-server` on 127.0.0.1 and a free port, without persistence, for one test."""

    def __init__(self, binary: str) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        self.client = redis.Redis(port=self.port)

        def up() -> bool:
            try:
                return bool(self.client.ping())
            except redis.RedisError:
                return False

        wait_until(up, f"redis-server answering on port {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        self.client.close()
        self.process.kill()
        self.process.wait(timeout=30)


def redis_or_skip() -> str:
    """The redis-server binary, or skip the test saying how to get it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); the workers need Redis")
    return binary


class _Host(LoopbackHTTPServer):
    def __init__(self, site: ManyHostSite, address: str) -> None:
        super().__init__(address)
        self.site = site
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.in_flight = 0
        self.max_in_flight = 0

    def respond(self, request: Request) -> Response:
        with self.lock:
            self.requests.clear()  # the site keeps its own log
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self.site.answer(self, request)
        finally:
            with self.lock:
                self.in_flight -= 1


class ManyHostSite:
    """Hosts 127.0.0.2 ... 127.0.0.(n+1), each with feeds `/feeds/<source>.xml` and article pages.

    Args:
        hosts: how many hosts.
        feeds_per_host: feeds (sources) on each host.
        page_delay: seconds each article page takes to answer (makes concurrency visible).
    """

    def __init__(self, hosts: int, feeds_per_host: int = 2, page_delay: float = 0.0) -> None:
        self.page_delay = page_delay
        self.lock = threading.Lock()
        self.hosts = [_Host(self, f"127.0.0.{2 + i}") for i in range(hosts)]
        self.items: dict[str, list[tuple[str, Any, float]]] = {}  # source -> (path, story, published at)
        self.pages: dict[tuple[str, str], Any] = {}  # (host base URL, path) -> story
        self.sources: dict[str, tuple[_Host, str]] = {}
        self.served: list[tuple[str, str, float]] = []  # (host base URL, path, time) of every page served
        for number, host in enumerate(self.hosts):
            for feed in range(feeds_per_host):
                name = f"h{number}-f{feed}"
                self.sources[name] = (host, host.url(f"/feeds/{name}.xml"))
                self.items[name] = []

    def __enter__(self) -> ManyHostSite:
        for host in self.hosts:
            host.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for host in self.hosts:
            host.__exit__(*exc)

    def feed_urls(self) -> dict[str, str]:
        return {name: url for name, (_host, url) in self.sources.items()}

    def publish(self, source: str, story: Any, private: bool = False) -> str:
        """Put `story` in `source`'s feed; returns its absolute URL (under /private/ when `private`)."""
        host, _url = self.sources[source]
        path = f"/{'private' if private else 'news'}/{source}-{story.slug}"
        with self.lock:
            self.items[source].append((path, story, time.time()))
            self.pages[(host.base_url, path)] = story
        return host.url(path)

    def page_hits(self, prefix: str = "/") -> list[tuple[str, str, float]]:
        with self.lock:
            return [hit for hit in self.served if hit[1].startswith(prefix)]

    def max_in_flight(self) -> dict[str, int]:
        return {host.base_url: host.max_in_flight for host in self.hosts}

    def _feed(self, host: _Host, source: str) -> bytes:
        with self.lock:
            items = list(reversed(self.items.get(source, [])))
        entries = "".join(
            f"<item><title>{html.escape(story.title)}</title><link>{host.url(path)}?utm_source=rss</link>"
            f"<description>{html.escape(story.summary)}</description>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(at, UTC))}</pubDate>"
            f'<guid isPermaLink="false">{html.escape(path)}</guid></item>'
            for path, story, at in items)
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{source}</title>'
                f"<link>{host.base_url}/</link><description>{source}</description>{entries}</channel></rss>").encode()

    def answer(self, host: _Host, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        if path == "/robots.txt":
            return Response(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
        if path.startswith("/feeds/") and path.endswith(".xml"):
            body = self._feed(host, path[len("/feeds/"):-len(".xml")])
            return Response(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})
        with self.lock:
            story = self.pages.get((host.base_url, path))
            self.served.append((host.base_url, path, time.time()))
        if story is None:
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        if self.page_delay:
            time.sleep(self.page_delay)  # inside respond(): the request counts as in flight meanwhile
        page = article_page(story.title, list(story.paragraphs))
        return Response(200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def write_config(path: Path, feeds: dict[str, str], redis_url: str | None, every: str = "2s",
                 per_host: int = 2, lease: str = "30s", batch_size: int = 4,
                 extraction_workers: int = 1) -> Path:
    """A config with `feeds` (name -> URL), the default watchlists and targets, and `workers:` when
    `redis_url` is given (the brain's and the workers' config alike)."""
    default = (ROOT / "config.yaml").read_text(encoding="utf-8")
    watchlists = default[default.index("# WATCHLISTS-BEGIN"):default.index("# WATCHLISTS-END")]
    targets = default[default.index("# TARGETS-BEGIN"):default.index("# TARGETS-END")]
    sources = "".join(f'  - {{name: {name}, kind: feed, url: "{url}", every: {every}}}\n'
                      for name, url in feeds.items())
    workers = (f"workers:\n  enabled: true\n  redis_url: {redis_url}\n  batch_size: {batch_size}\n"
               f"  lease: {lease}\n  heartbeat: 1s\n") if redis_url else ""
    path.write_text(
        "database: newswatch.db\nlog_level: INFO\n"
        f"crawl:\n  download_delay: 0.0\n  obey_robots_txt: true\n  per_domain_concurrency: {per_host}\n"
        f"  autothrottle: false\n  extraction_workers: {extraction_workers}\n  allow_networks: [127.0.0.0/8]\n"
        f"delivery:\n  every: 1s\n  retry_base: 1s\n{workers}"
        f"sources:\n{sources}{targets}\n{watchlists}\n",
        encoding="utf-8")
    return path


def webhook_env(url: str) -> dict[str, str]:
    """The environment with only the JSON webhook target on (the others lack their variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_WEBHOOK_URL"] = url
    return env


class Proc:
    """A `newswatch` subprocess in its own session, its log in a file."""

    def __init__(self, args: Sequence[str], cwd: Path, env: dict[str, str], log: Path,
                 prefix: Sequence[str] = ()) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen([*prefix, *NEWSWATCH, *args], cwd=cwd, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tree(self) -> list[int]:
        """This process and all its descendants (from /proc)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def kill_tree(self) -> None:
        """SIGKILL the process and every descendant (a machine dying), including RQ's work-horse,
        which runs in a process group of its own."""
        for pid in self.tree():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self, timeout: float = 120) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_tree()
        self._log.close()
        return self.process.returncode
