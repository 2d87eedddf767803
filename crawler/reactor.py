"""Install Scrapy's asyncio reactor on a fresh event loop, first thing in a process.

Everything that imports `twisted.internet.reactor` before this runs pins the default (epoll) reactor,
and every later crawl then fails silently (measured, see DESIGN.md). So the daemon and
`crawl_blocking()` call `install_asyncio_reactor()` before importing anything else from Twisted.
Settings read: none.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

_REACTOR_PATH = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def install_asyncio_reactor() -> asyncio.AbstractEventLoop:
    """Install `AsyncioSelectorReactor` on a new asyncio loop and return that loop.

    Calling it again in a process that already has the asyncio reactor returns the reactor's loop.

    Returns:
        The event loop the reactor drives; run APScheduler's `AsyncIOScheduler` on it.

    Raises:
        RuntimeError: another reactor was installed first (something imported
            `twisted.internet.reactor` too early).
    """
    if "twisted.internet.reactor" in sys.modules:
        from twisted.internet import reactor

        loop: asyncio.AbstractEventLoop | None = getattr(reactor, "_asyncioEventloop", None)
        if loop is None:
            raise RuntimeError(
                f"a non-asyncio Twisted reactor ({type(reactor).__name__}) is already installed: call "
                "crawler.reactor.install_asyncio_reactor() before anything imports twisted.internet.reactor"
            )
        return loop
    from twisted.internet import asyncioreactor

    install: Any = asyncioreactor.install  # untyped in Twisted
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    install(eventloop=loop)
    logger.debug("installed %s on a new event loop", _REACTOR_PATH)
    return loop
