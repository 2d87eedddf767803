"""newswatch's scheduler: the daemon and the command line.

Loads and validates `config.yaml` (the only place that reads the environment), runs APScheduler jobs
on Scrapy's asyncio loop (crawl each source, match, deliver), and offers the `newswatch` CLI.

The public names are imported on first use (PEP 562): the console script's entry module
(`scheduler.entry`) lives in this package and must start without importing Scrapy, Twisted or
pydantic, so that it can catch a stop signal before those slow imports begin.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from scheduler.config import Config, load_config
    from scheduler.errors import ConfigError, SchedulerError

__all__ = ["Config", "ConfigError", "SchedulerError", "load_config"]

_HOMES = {"Config": "scheduler.config", "load_config": "scheduler.config", "ConfigError": "scheduler.errors",
          "SchedulerError": "scheduler.errors"}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scheduler' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value
