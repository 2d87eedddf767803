"""The `newswatch` console script: catch stop signals first, import the heavy machinery after.

Importing the command line pulls in Scrapy, Twisted, trafilatura, pydantic and the compiled matcher:
about 1.5 s of CPU, several seconds on a loaded machine. A SIGTERM (systemd, Docker, a supervisor)
or a Ctrl-C in that time used to kill `newswatch run` with exit 143 or a KeyboardInterrupt
traceback. So this module imports only the standard library, installs SIGTERM/SIGINT handlers that
merely record the request, and only then imports `scheduler.cli`:

- `newswatch run` (the daemon) takes the recorded request over (`scheduler.app.run_daemon` asks
  `stop_requested()` once its own handlers are in place) and exits 0 without starting any work.
- Every other command gets the usual behaviour back as soon as it is parsed (`release_signals()`):
  a signal recorded meanwhile is delivered again then, so Ctrl-C prints click's "Aborted!".

It also turns the package's expected errors into a one-line `Error: …` on stderr: exit code 2 for an
invalid configuration (`ConfigError`), 1 for any other `NewswatchError`. Anything else is a bug and
keeps its traceback. Settings read: none.

Nothing here may import a third-party module or another newswatch module at import time: that is
the point of the module (tests/scheduler/test_startup_signals.py checks it).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_requested: list[int] = []
_released = False


def _record(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)


def install_early_handlers() -> None:
    """Record SIGINT/SIGTERM instead of dying; the first thing the console script does."""
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _record)


def stop_requested() -> bool:
    """Whether SIGTERM or SIGINT arrived while the early handlers were in place."""
    return bool(_requested)


def release_signals() -> None:
    """Give SIGINT/SIGTERM their usual behaviour back, then deliver any stop recorded meanwhile.

    For commands other than the daemon, which handle a stop as any program does. Idempotent.
    """
    global _released
    if _released:
        return
    _released = True
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for signum in dict.fromkeys(_requested):
        os.kill(os.getpid(), signum)


def main() -> None:
    """Run the `newswatch` command line (the console script's target)."""
    install_early_handlers()
    from crawler.errors import NewswatchError
    from scheduler.cli import main as cli
    from scheduler.errors import ConfigError

    try:
        cli.main(prog_name="newswatch")
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)
    except NewswatchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
