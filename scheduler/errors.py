"""Exceptions of the scheduler package (config loading, the daemon).

    NewswatchError (crawler.errors)
    └── SchedulerError
        ├── ConfigError       config.yaml is missing, not YAML, or fails validation;
        │                     `.problems` lists each (location, message)
        ├── NoDatabaseError   a read-only command found no database file (it never creates one)
        └── LockedError       another daemon holds the database's lock; `.pid` is its process
"""

from __future__ import annotations

from crawler.errors import NewswatchError


class SchedulerError(NewswatchError):
    """The daemon or the CLI cannot go on."""


class ConfigError(SchedulerError):
    """The configuration file is invalid. The message lists every problem with file, line and key."""

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}: {len(problems)} problem(s) in the configuration:"]
        lines += [f"  {where}: {message}" for where, message in problems]
        super().__init__("\n".join(lines))


class NoDatabaseError(SchedulerError):
    """A read-only command (status, stories, backtest) found no database file; it does not create one."""

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(f"no database yet at {path}: run `newswatch run` or `newswatch crawl --once` first "
                         "(or check `database:` in the config)")


class LockedError(SchedulerError):
    """Another process holds the database's lock (one daemon per database)."""

    def __init__(self, message: str, pid: int | None) -> None:
        self.pid = pid
        super().__init__(message)
