"""Waiting in tests for something observable, never for a fixed time.

The suite runs on loaded two-core machines where a daemon may take ten times longer than usual to
start, crawl or stop. So tests wait for an event they can see (a request the loopback site received,
a log line, a row, a metrics counter) with a timeout that only bounds a *failure*: a passing test
never waits for it, so it can be generous. A "nothing happened" check waits for a later event that
proves the moment has passed (the next crawl, a log line written after it), never for a sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Only reached when the awaited event never comes: generous, so a slow machine is not a failure.
TIMEOUT = 180.0
POLL = 0.1


def wait_for(condition: Callable[[], object], timeout: float = TIMEOUT) -> bool:
    """Poll `condition` until it is true or `timeout` seconds pass; returns whether it held.

    For `assert wait_for(...), "what"`; `wait_until` says what was awaited by itself.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL)
    return bool(condition())


def wait_until(condition: Callable[[], object], what: str, timeout: float = TIMEOUT,
               detail: Callable[[], str] | None = None) -> None:
    """Poll `condition` until it is true; raise AssertionError naming `what` after `timeout` seconds.

    Args:
        condition: checked every 0.1 s.
        what: the awaited event, for the failure message ("the feed fetched twice").
        timeout: seconds before giving up; bounds a failure only.
        detail: called on failure for more context (e.g. the daemon's log tail).
    """
    if not wait_for(condition, timeout):
        extra = f"\n{detail()}" if detail is not None else ""
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
