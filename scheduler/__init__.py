"""newswatch's scheduler: the daemon and the command line.

Loads and validates `config.yaml` (the only place that reads the environment), runs APScheduler jobs
on Scrapy's asyncio loop (crawl each source, match, deliver), and offers the `newswatch` CLI.
"""

from scheduler.config import Config, load_config
from scheduler.errors import ConfigError, SchedulerError

__all__ = ["Config", "ConfigError", "SchedulerError", "load_config"]
