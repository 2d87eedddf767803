"""`newswatch sources …`: find an outlet's feeds, sitemap or listing rule, and add it to config.yaml.

Kept apart from ``scheduler.cli`` so each command group stays small; ``scheduler.cli`` registers the
group. Discovery is ``crawler.discover``; writing the file (validated, comments kept) is
``scheduler.config_edit``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from crawler.discover import Candidate, discover, http_fetcher
from crawler.netpolicy import parse_allow_networks
from scheduler.config import load_config, parse_duration
from scheduler.config_edit import add_source
from scheduler.errors import ConfigError


@click.group("sources")
def sources_group() -> None:
    """Find and add sources."""


def _default_name(url: str) -> str:
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"


def _show(number: int, candidate: Candidate) -> None:
    extra = f"  link_pattern: {candidate.link_pattern}" if candidate.link_pattern else ""
    click.echo(f"[{number}] {candidate.kind:<8} {candidate.url}  ({candidate.items} items now; "
               f"found by {candidate.found_by}){extra}")
    for entry in candidate.newest:
        when = f"{entry.published[:16]}  " if entry.published else ""
        click.echo(f"      {when}{entry.title or entry.url}")


@sources_group.command("add")
@click.argument("url")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("config.yaml"), envvar="NEWSWATCH_CONFIG", show_default=True,
              help="The configuration file.")
@click.option("--name", default=None, help="Name of the new source (default: from the host name).")
@click.option("--pick", type=int, default=None,
              help="Write candidate N into the config without asking (0 writes nothing).")
@click.option("--every", default="10m", show_default=True, help="Crawl interval of the new source.")
@click.option("--tag", "tags", multiple=True, help="A tag for its articles (repeatable).")
def sources_add(url: str, config_path: Path, name: str | None, pick: int | None, every: str,
                tags: tuple[str, ...]) -> None:
    """Find the feeds, news sitemap or a listing rule of an outlet and add the chosen one.

    URL is the outlet's homepage or a section page. Each candidate is fetched and parsed the way the
    crawl would, and shown with its newest items; the chosen one is written into the config,
    validated first, with the file's comments kept.

    \b
    Examples:
      newswatch sources add https://www.example-news.com/asia/
      newswatch sources add https://www.example-news.com --pick 1 --name example-asia --tag asia
    """
    if not re.match(r"^https?://", url):
        raise click.UsageError(f"{url!r} is not an http(s) URL; e.g. https://www.example-news.com/asia/")
    try:
        parse_duration(every)
        config = load_config(config_path)
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    fetcher = http_fetcher(allow=parse_allow_networks(config.crawl.allow_networks), start_url=url)
    found = discover(url, fetcher)
    for note in found.notes:
        click.echo(note, err=True)
    if not found.candidates:
        sys.exit(1)
    for number, candidate in enumerate(found.candidates, start=1):
        _show(number, candidate)
    if pick is None:
        if not sys.stdin.isatty():
            click.echo("choose one with --pick N to write it into the config")
            return
        pick = click.prompt("write which one into the config (0: none)", type=int, default=1)
    if pick == 0:
        return
    if not 1 <= pick <= len(found.candidates):
        raise click.UsageError(f"--pick must be between 1 and {len(found.candidates)}")
    chosen = found.candidates[pick - 1]
    source = chosen.source(name or _default_name(url), every, tags)
    try:
        add_source(config_path, source)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added source {source['name']!r} ({chosen.kind}, {chosen.url}) to {config_path}")


@sources_group.command("enable")
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("config.yaml"), envvar="NEWSWATCH_CONFIG", show_default=True,
              help="The configuration file.")
def sources_enable(name: str, config_path: Path) -> None:
    """Crawl a source again that was switched off after failing too long (operations.disable_after).

    Its failure count starts from zero; a running daemon picks it up at its next health check
    (within a minute).

    \b
    Example:
      newswatch sources enable scmp-china
    """
    from crawler.store import set_source_disabled
    from scheduler.schema import open_store
    from scheduler.tasks import require_database

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    require_database(config)
    db = open_store(config.database)
    try:
        changed = set_source_disabled(db, name, False)
    finally:
        db.close()
    if not changed:
        raise click.ClickException(f"source {name!r} is not disabled (newswatch status shows each source's state)")
    click.echo(f"source {name!r} enabled: it is crawled again from its next turn")
