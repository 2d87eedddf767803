"""Exceptions of the scheduler package (config loading, the daemon).

    NewswatchError (crawler.errors)
    └── SchedulerError
        └── ConfigError       config.yaml is missing, not YAML, or fails validation;
                              `.problems` lists each (location, message)
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
