"""`newswatch worker`: crawl and extract for a brain (a daemon with `workers.enabled`), through Redis.

Kept apart from ``scheduler.cli`` so the command module stays small; ``scheduler.cli`` registers it.
The work is ``scheduler.workers.worker.run_worker``; see docs/workers.md.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("worker")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("config.yaml"), envvar="NEWSWATCH_CONFIG", show_default=True,
              help="The configuration file (the same sources and workers: as the brain's).")
@click.option("--name", default=None, help="This worker's name, unique among workers (default: the host name).")
@click.option("--burst", is_flag=True, help="Stop when this worker's queue is empty.")
def worker_command(config_path: Path, name: str | None, burst: bool) -> None:
    """Fetch and extract batches the brain hands out, until stopped (SIGTERM finishes the batch).

    Needs `workers.redis_url` to reach the brain's Redis; `workers.enabled` is for the brain. The
    worker stores nothing itself: articles go back to the brain, the only writer of the database.

    \b
    Example:
      newswatch worker --config config.yaml --name crawler-1
    """
    from scheduler.cli import _load, _setup_logging
    from scheduler.workers.worker import run_worker

    config = _load(config_path)
    _setup_logging(config)
    try:
        run_worker(config, name, burst=burst)
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from None
