"""Fetch a section page whose article list is built by script, with a real headless browser.

Some outlets' section pages arrive as an empty shell that their JavaScript fills; a plain fetch sees
no links. A listing source with ``render: browser`` has its *index page* (only that: its articles are
still fetched plainly) loaded in headless Chromium through Playwright, and the HTML after the page's
scripts ran is handed to the ordinary listing parser.

How the browser is kept in check:

- **One browser per process, shared and recycled.** Launching Chromium costs a second and ~100 MB,
  so it is launched on the first render and reused; each page gets a fresh browser context (no
  cookies or storage carried between sources) that is closed after it. Long-lived browsers grow,
  so the browser is closed and relaunched after :data:`RECYCLE_AFTER_PAGES` pages, or sooner when its
  process tree holds more than :data:`MAX_BROWSER_MB` of memory (PSS, measured from ``/proc``).
- **Bounded time.** Navigation waits for the network to go quiet, at most ``timeout`` seconds
  (:data:`DEFAULT_TIMEOUT`); on a timeout, whatever the page has built by then is used, and a page
  that did not load at all fails the source with reason ``timeout``.
- **Bounded reach.** Every request the page makes goes through a route handler: only http(s) to the
  source's own origin is let through (scripts, XHR, images of the page itself); everything else is
  aborted, so a page cannot make the browser reach another host, the internet, or a private address.
  Downloads are refused. At most :data:`MAX_PAGES_AT_ONCE` pages render at the same time.
- **The system's browser.** Playwright drives an installed Chromium (``/usr/bin/chromium``, or
  ``NEWSWATCH_CHROMIUM``); nothing is downloaded. Without one, a ``render: browser`` source fails with
  a message saying what to install, and every other source goes on.

Settings read: ``NEWSWATCH_CHROMIUM`` (the browser's path); the source's ``render``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
RECYCLE_AFTER_PAGES = 50
MAX_BROWSER_MB = 600.0
MAX_PAGES_AT_ONCE = 2
MAX_HTML_BYTES = 10 * 1024 * 1024
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--mute-audio",
)


class RenderError(Exception):
    """A page could not be rendered; the message says why (no browser, timeout, crash)."""


def chromium_path() -> str | None:
    """The installed Chromium to drive, or None."""
    configured = os.environ.get("NEWSWATCH_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _tree_memory_mb(pid: int) -> float:
    """Proportional set size (PSS) of a process and all its descendants, in MB, from /proc (Linux).

    PSS, not RSS: Chromium's processes share most of their pages, and summing RSS would count the
    shared ones once per process (about twice the real figure here).
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total_kb, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, ()))
        try:
            for line in (Path("/proc") / str(current) / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        except (OSError, ValueError, IndexError):
            continue
    return total_kb / 1000


def _same_origin(url: str, origin: tuple[str, str]) -> bool:
    parts = urlsplit(url)
    return (parts.scheme, parts.netloc.lower()) == origin


@dataclass
class _Browser:
    playwright: Any
    browser: Any
    pages: int = 0


class BrowserRenderer:
    """Renders pages in one shared, recycled headless Chromium (see the module docstring)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._current: _Browser | None = None
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(MAX_PAGES_AT_ONCE)
        self.launches = 0
        self.rendered = 0

    async def _browser(self) -> _Browser:
        async with self._lock:
            current = self._current
            if current is not None and (current.pages >= RECYCLE_AFTER_PAGES or self.memory_mb() > MAX_BROWSER_MB):
                logger.info("recycling the headless browser after %d pages (%.0f MB)", current.pages,
                            self.memory_mb())
                self._current = None
                await self._close(current)
                current = None
            if current is None:
                executable = chromium_path()
                if executable is None:
                    raise RenderError("no Chromium found for render: browser (install the chromium package, "
                                      "or set NEWSWATCH_CHROMIUM to its path)")
                from playwright.async_api import async_playwright

                playwright = await async_playwright().start()
                try:
                    browser = await playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS),
                                                               headless=True)
                except Exception as exc:
                    await playwright.stop()
                    raise RenderError(f"could not start {executable}: {exc.__class__.__name__}: {exc}") from None
                current = self._current = _Browser(playwright, browser)
                self.launches += 1
            current.pages += 1
            return current

    @staticmethod
    async def _close(current: _Browser) -> None:
        try:
            await current.browser.close()
        finally:
            await current.playwright.stop()

    def browser_pid(self) -> int | None:
        """The pid of the running browser's main process (None when none runs)."""
        if self._current is None:
            return None
        process = getattr(self._current.browser, "process", None)  # absent in some Playwright versions
        if process is not None:
            return int(process.pid)
        return _find_browser_pid()

    def memory_mb(self) -> float:
        """Resident memory of the browser's process tree, in MB (0 when none runs)."""
        pid = self.browser_pid()
        return _tree_memory_mb(pid) if pid else 0.0

    async def render(self, url: str) -> tuple[str, bytes]:
        """Load ``url``, let its scripts run, and return (final URL, the HTML of the page, UTF-8).

        Raises:
            RenderError: no browser, the page did not load in time, or the browser failed.
        """
        origin = (urlsplit(url).scheme, urlsplit(url).netloc.lower())
        async with self._slots:
            current = await self._browser()
            context = await current.browser.new_context(accept_downloads=False, service_workers="block",
                                                        java_script_enabled=True)
            try:
                page = await context.new_page()

                async def gate(route: Any) -> None:
                    if _same_origin(route.request.url, origin):
                        await route.continue_()
                    else:
                        await route.abort()

                await page.route("**/*", gate)
                try:
                    await page.goto(url, wait_until="networkidle", timeout=self.timeout * 1000)
                except Exception as exc:
                    if exc.__class__.__name__ != "TimeoutError":
                        raise RenderError(f"the browser could not load {url}: {exc.__class__.__name__}") from None
                    if page.url in ("", "about:blank"):
                        raise RenderError(f"timeout: {url} did not load within {self.timeout:g} s") from None
                html = await page.content()
                self.rendered += 1
                return page.url, html.encode("utf-8")[:MAX_HTML_BYTES]
            finally:
                await context.close()

    async def close(self) -> None:
        """Close the browser (at the end of a crawl, or when the daemon stops)."""
        async with self._lock:
            if self._current is not None:
                current, self._current = self._current, None
                await self._close(current)


def _find_browser_pid() -> int | None:
    """The newest Chromium child of this process (fallback when Playwright does not expose the pid)."""
    mine = os.getpid()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if b"--headless" in command and "chrom" in name.lower() and _descends_from(int(fields[1]), mine):
            found.append(int(entry.name))
    return min(found) if found else None


def _descends_from(pid: int, ancestor: int) -> bool:
    seen = 0
    while pid > 1 and seen < 64:
        if pid == ancestor:
            return True
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        seen += 1
    return pid == ancestor
