"""A realistic little news site for end-to-end tests: an RSS feed, article pages with navigation and
ads around the text, and helpers to run the real `newswatch` command against it."""

from __future__ import annotations

import html
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from tests.conftest import SEED
from tests.loopback import LoopbackHTTPServer
from tests.waiting import TIMEOUT, wait_for, wait_until

__all__ = ["wait_for"]  # re-exported: tests import it from here

SEED_TITLE = "Amid China worries, Japan-Vietnam sign defence export deal"
CALM_TITLE = "Tokyo ramen festival draws record crowds to Komazawa Park"
CALM_TEXT = [
    "Tens of thousands of visitors queued on Saturday for bowls of noodles at the annual ramen "
    "festival in Tokyo's Komazawa Olympic Park, organisers said.",
    "Forty shops from across Japan served miso, shoyu and tonkotsu broths, and the most popular stall "
    "sold out of its Hokkaido crab ramen before noon.",
    "The festival continues until Tuesday, with a new stage for live music and a children's corner "
    "where families can learn how noodles are made by hand.",
    "Organisers said they expected more than 400,000 people over the six days if the weather held, "
    "and asked visitors to bring their own chopsticks to cut down on waste.",
]

NEWSWATCH = [str(Path(sys.executable).with_name("newswatch"))]
if not Path(NEWSWATCH[0]).exists():  # not installed as a console script: run the module
    NEWSWATCH = [sys.executable, "-m", "scheduler"]


def seed_paragraphs() -> list[str]:
    """The seed story's text lines (the saved copy, boilerplate lines and all)."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and line != SEED_TITLE]


def article_page(title: str, paragraphs: list[str]) -> str:
    """An article page as outlets serve it: header navigation, ads, related links, footer."""
    nav = "".join(f'<li><a href="/section/{s}">{s.title()}</a></li>' for s in
                  ("china", "asia", "world", "business", "tech", "lifestyle", "sport", "opinion"))
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    related = "".join(f'<li><a href="/news/related-{i}">Related story number {i} about markets</a></li>'
                      for i in range(6))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | Loopback Post</title>
<meta property="og:title" content="{html.escape(title)}">
<meta property="article:published_time" content="2021-09-11T09:30:00+08:00">
<meta name="author" content="Staff Reporter">
<script>window.ads = {{slots: ["top", "mid"]}};</script></head>
<body>
<header><div class="logo">Loopback Post</div><nav><ul>{nav}</ul></nav>
<div class="subscribe">Subscribe now for unlimited access. Sign in | Register</div></header>
<div class="ad ad-top">Advertisement: Buy the new phone today, limited offer!</div>
<main><article><h1>{html.escape(title)}</h1>
<div class="byline">By Staff Reporter, published 11 Sep 2021</div>
{body}
</article>
<aside class="ad">Advertisement: Holiday deals to Bali and Phuket from $199</aside>
<section class="related"><h2>More on this</h2><ul>{related}</ul></section></main>
<footer><p>Copyright Loopback Post. All rights reserved.</p><ul><li><a href="/about">About us</a></li>
<li><a href="/privacy">Privacy policy</a></li><li><a href="/contact">Contact</a></li></ul></footer>
</body></html>"""


def rss_feed(site: LoopbackHTTPServer, items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 feed of (path, title, summary) items, links carrying tracking parameters."""
    now = format_datetime(datetime.now(UTC))
    entries = "".join(
        f"<item><title>{html.escape(title)}</title>"
        f"<link>{site.url(path)}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<description>{html.escape(summary)}</description><pubDate>{now}</pubDate>"
        f"<guid>{site.url(path)}</guid></item>"
        for path, title, summary in items
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Loopback Post'
            f"</title><link>{site.base_url}/</link><description>News</description>{entries}</channel></rss>")


def write_config(path: Path, feed_url: str, every: str = "5m", extra: str = "") -> Path:
    """A config with one feed source, the default watchlists and three targets from the environment."""
    default = (Path(__file__).resolve().parent.parent / "config.yaml").read_text(encoding="utf-8")
    watchlists = default[default.index("# WATCHLISTS-BEGIN"):default.index("# WATCHLISTS-END")]
    targets = default[default.index("# TARGETS-BEGIN"):default.index("# TARGETS-END")]
    path.write_text(
        "database: newswatch.db\n"
        "crawl:\n  download_delay: 0.0\n"
        "delivery:\n  every: 1s\n  retry_base: 1s\n"
        f"{extra}"
        f"sources:\n  - name: loopback-post\n    kind: feed\n    url: {feed_url}\n    every: {every}\n"
        f"{targets}\n{watchlists}\n",
        encoding="utf-8",
    )
    return path


def target_env(slack_url: str, webhook_url: str, smtp_host: str, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({
        "NEWSWATCH_SLACK_WEBHOOK_URL": slack_url,
        "NEWSWATCH_WEBHOOK_URL": webhook_url,
        "NEWSWATCH_WEBHOOK_SECRET": "s3cret-hmac-key",
        "NEWSWATCH_SMTP_HOST": smtp_host,
        "NEWSWATCH_SMTP_PORT": str(smtp_port),
        "NEWSWATCH_SMTP_STARTTLS": "false",
        "NEWSWATCH_EMAIL_TO": "analysts@example.org",
    })
    return env


def run_newswatch(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
                  ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NEWSWATCH, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningDaemon:
    """`newswatch run` (or another long-running `command`, e.g. `web`) in a subprocess whose log lines
    tests can wait for while it runs.

    Its output is read as it comes, so a chatty daemon never blocks on a full pipe. Use as a context
    manager: the process is killed on the way out if a test did not stop it.
    """

    def __init__(self, config: Path, cwd: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), command: str = "run") -> None:
        self.process = subprocess.Popen([*NEWSWATCH, command, "--config", str(config), *args], env=env, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._out: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [threading.Thread(target=self._read, args=(self.process.stderr, self._lines), daemon=True),
                         threading.Thread(target=self._read, args=(self.process.stdout, self._out), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._lock:
                into.append(line)

    def __enter__(self) -> RunningDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        self._join()

    @property
    def lines(self) -> list[str]:
        """The log lines (stderr) written so far."""
        with self._lock:
            return list(self._lines)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        """How many log lines so far contain `text`."""
        return sum(text in line for line in self.lines)

    def wait_for_line(self, text: str, times: int = 1, timeout: float = TIMEOUT) -> None:
        """Wait until `times` log lines contain `text`; fail, showing the log, if the daemon exits first."""
        wait_until(lambda: self.count(text) >= times or self.process.poll() is not None,
                   f"{times} log line(s) with {text!r}", timeout, detail=self._tail)
        assert self.count(text) >= times, f"the daemon exited ({self.process.returncode}) before logging {text!r}" \
                                          f"\n{self._tail()}"

    def _tail(self) -> str:
        return "".join(self.lines[-40:])

    def stop(self, signum: int = signal.SIGTERM, timeout: float = TIMEOUT) -> str:
        """Send `signum`, wait for the exit, return the whole log; assert a clean exit (0, no traceback)."""
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self._join()
        err = self.stderr
        assert self.process.returncode == 0, f"exit code {self.process.returncode}\n{err}"
        assert "Traceback" not in err, err
        return err

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=TIMEOUT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
