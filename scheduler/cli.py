"""The `newswatch` command line: each command parses options, calls one function, formats the result.

Only this module turns exceptions into exit codes: 2 for an invalid configuration or usage, 1 for
other expected failures (a delivery refused, an unknown source); unexpected errors keep their
traceback. Every command but `extract` takes `--config PATH` (default `./config.yaml`, or
`$NEWSWATCH_CONFIG`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from alerts import (
    DeliveryError,
    Document,
    StorySummary,
    WatchlistMatch,
    backfill_target,
    format_matches,
    list_stories,
    retry_dead,
    send_test_alert,
)
from crawler import extract_article, extract_file
from scheduler.config import Config, load_config, parse_duration
from scheduler.entry import release_signals
from scheduler.errors import ConfigError, LockedError, NoDatabaseError
from scheduler.schema import open_store
from scheduler.tasks import backtest, crawl_once, match_documents, require_database, status_report

F = TypeVar("F", bound=Callable[..., Any])


class ConfigProblem(click.ClickException):
    """An invalid configuration: exit code 2, like a usage error."""

    exit_code = 2


def config_option(func: F) -> F:
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        default=Path("config.yaml"), envvar="NEWSWATCH_CONFIG", show_default=True,
        help="The configuration file.",
    )(func)


def _load(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None


def _setup_logging(config: Config, fmt: str = "text", level: str | None = None) -> None:
    from scheduler.app import configure_logging
    from scheduler.redact import install_redaction

    configure_logging(level or config.log_level, fmt)
    install_redaction(config.secrets)  # ${VAR} values never reach a log line (scheduler.redact)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newswatch")
@click.pass_context
def main(ctx: click.Context) -> None:
    """newswatch: watch news sources, match watchlists, alert Slack, webhooks and email.

    \b
    Example:
      newswatch check-config && newswatch run
    """
    # The console script (scheduler.entry) records SIGTERM/SIGINT during the imports; the daemon takes
    # such a stop over itself, every other command handles signals as usual from here on.
    if ctx.invoked_subcommand != "run":
        release_signals()


@main.command()
@config_option
@click.option("--once", is_flag=True, help="Crawl every source once, match, deliver, then exit.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines for people (text) or for log collectors (json).")
@click.option("--stop-timeout", type=float, default=30.0, show_default=True,
              help="Seconds SIGTERM waits for running crawls before abandoning them.")
def run(config_path: Path, once: bool, log_format: str, stop_timeout: float) -> None:
    """Run the daemon in the foreground until SIGTERM or Ctrl-C.

    Edits of the config file (or SIGHUP) are picked up without a restart.

    \b
    Example:
      newswatch run --config /etc/newswatch/config.yaml --log-format json
    """
    if once:
        release_signals()
    config = _load(config_path)
    _setup_logging(config, log_format)
    if once:
        try:
            _print_once(crawl_once(config))
        except LockedError as exc:  # a daemon is using this database (scheduler.lock)
            raise click.ClickException(str(exc)) from None
        return
    from scheduler.app import run_daemon

    try:
        sys.exit(run_daemon(config, stop_timeout))
    except LockedError as exc:  # another daemon holds this database (scheduler.lock)
        raise click.ClickException(str(exc)) from None


@main.command()
@config_option
@click.option("--once", is_flag=True, required=True, help="Crawl once and exit (required).")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source (repeatable).")
def crawl(config_path: Path, once: bool, sources: tuple[str, ...]) -> None:
    """Crawl every source (or the named ones) once, match, deliver, and exit.

    Exits 1 when every selected source failed (nothing could be fetched), so cron and scripts notice;
    0 when at least one source was fetched, even if it had nothing new (304 or unchanged).

    \b
    Example:
      newswatch crawl --once --source scmp-china
    """
    config = _load(config_path)
    # Warnings and errors only (the summary is on stdout), unless the config asks for DEBUG detail.
    _setup_logging(config, level="DEBUG" if config.log_level == "DEBUG" else "WARNING")
    try:
        report = crawl_once(config, sources)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    except LockedError as exc:
        raise click.ClickException(str(exc)) from None
    _print_once(report)
    if report.nothing_fetched:
        raise click.ClickException(f"all {len(report.crawls)} source(s) failed: nothing could be fetched "
                                   "(see the reasons above; `newswatch status` keeps them)")


def _print_once(report: Any) -> None:
    for crawl_report in report.crawls:
        state = f"FAILED ({crawl_report.error_class}: {crawl_report.error})" if crawl_report.error_class else "ok"
        note = f" ({crawl_report.note})" if getattr(crawl_report, "note", None) else ""  # why fewer articles
        click.echo(f"{crawl_report.source}: {crawl_report.new_articles} new articles, {state}{note}")
    m, d = report.matching, report.delivery
    click.echo(f"matched {m.matched} of {m.articles} new articles; {m.alerts_enqueued} alerts queued")
    click.echo(f"delivered {d.delivered} of {d.attempted} attempted ({d.failed} failed, {d.dead} dead)")


def _read_documents_jsonl(stream: Any) -> Iterator[tuple[int, Any, Document | str]]:
    """(line number, id, Document) per input line, or (line number, id, why) for a bad line."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number} of the input is not JSON: {exc}"
            continue
        if not isinstance(item, dict):
            yield number, None, f"line {number} of the input is not an object with id, title, text"
            continue
        yield number, item.get("id"), Document(title=str(item.get("title") or ""), lead=str(item.get("text") or ""))


def _match_stream(config: Config, stream: Any) -> int:
    """Match JSON Lines one at a time, writing (and flushing) a line per input line; returns bad lines."""
    matcher = config.matcher
    bad = 0
    for number, item_id, document in _read_documents_jsonl(stream):
        if isinstance(document, str):
            bad += 1
            click.echo(f"Error: {document}", err=True)
            click.echo(json.dumps({"id": item_id, "line": number, "error": document}, ensure_ascii=False))
        else:
            click.echo(json.dumps({"id": item_id, **_match_json(matcher.match(document))}, ensure_ascii=False))
        sys.stdout.flush()
    return bad


def _document_from_file(path: Path) -> Document:
    raw = path.read_bytes()
    looks_html = path.suffix.lower() in {".html", ".htm", ".gz"} or raw.lstrip()[:1] == b"<"
    if looks_html:
        if path.suffix.lower() == ".gz":
            import gzip

            raw = gzip.decompress(raw)
        page = extract_article(raw, path.resolve().as_uri())
        return Document(title=page.title, body=page.text)
    return Document(title="", body=raw.decode("utf-8", errors="replace"))


def _match_json(matches: list[WatchlistMatch]) -> dict[str, Any]:
    return {
        "watchlists": [m.watchlist for m in matches if m.matched],
        "matches": [
            {"watchlist": m.watchlist, "matched": m.matched, "score": round(m.score, 3),
             "threshold": m.threshold, "rules": list(m.rules), "reason": m.reason,
             "evidence": [{"rule": e.rule, "term": e.term, "entity": e.entity, "field": e.field,
                           "sentence": e.sentence} for e in m.evidence]}
            for m in matches
        ],
    }


@main.command()
@config_option
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), default=None,
              help="Read JSON Lines {id, title, text} from this file ('-' for stdin).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of an explanation.")
def match(config_path: Path, file: Path | None, jsonl: Any, as_json: bool) -> None:
    """Dry run: which watchlists match a story, and why. Nothing is stored or sent.

    FILE is a text or HTML file (.html.gz too). With --jsonl, one JSON line is written (and flushed)
    per input line as it is read: {"id", "watchlists": [...], "matches": [...]}; a line that is not a
    JSON object gives {"id": null, "line": N, "error": "..."} and a message on stderr, matching goes
    on, and the exit code is 1 at the end.

    \b
    Examples:
      newswatch match story.html
      newswatch match ../shared/seed/000_bd552f2eaf8b448e.txt --json
      cat headlines.jsonl | newswatch match --jsonl -
    """
    if (file is None) == (jsonl is None):
        raise click.UsageError("give either FILE or --jsonl PATH (or '-' for stdin)")
    config = _load(config_path)
    if jsonl is not None:
        bad = _match_stream(config, jsonl)
        if bad:
            raise click.ClickException(f"{bad} input line(s) were not JSON objects (see the lines with \"error\")")
        return
    assert file is not None
    matches = next(iter(match_documents(config, [_document_from_file(file)])))
    if as_json:
        click.echo(json.dumps({"file": str(file), **_match_json(matches)}, ensure_ascii=False, indent=2))
    else:
        click.echo(format_matches(matches))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default=None, help="The page's URL (helps date and link resolution).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per file (the default is readable text).")
def extract(files: tuple[Path, ...], url: str | None, as_json: bool) -> None:
    """Extract title, text, date, authors and language from saved HTML pages (.html or .html.gz).

    \b
    Example:
      newswatch extract page.html.gz --url https://example.com/a --json
    """
    for path in files:
        result = extract_file(path, url)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(f"== {path}\ntitle: {result['title']}\ndate: {result['date']}\n"
                       f"authors: {', '.join(result['authors'] or [])}\nlanguage: {result['language']}\n\n"
                       f"{result['text']}\n")


@main.command("check-config")
@config_option
def check_config(config_path: Path) -> None:
    """Validate the configuration and say what would run. Exit 2 when it is invalid.

    \b
    Example:
      newswatch check-config --config config.yaml
    """
    config = _load(config_path)
    click.echo(f"{config_path}: OK")
    click.echo(f"  database: {config.database}")
    click.echo(f"  sources: {len(config.sources)} ({', '.join(s.name for s in config.sources)})")
    click.echo(f"  watchlists: {', '.join(w.name for w in config.watchlists) or 'none'}")
    for name in config.targets:
        click.echo(f"  target {name}: enabled")
    for name, why in config.disabled_targets.items():
        click.echo(f"  target {name}: disabled ({why})")


@main.group("config")
def config_group() -> None:
    """About the configuration file itself.

    \b
    Example:
      newswatch config schema > config.schema.json
    """


@config_group.command("schema")
@config_option
def config_schema_command(config_path: Path) -> None:
    """Print the JSON Schema of config.yaml, for an editor to check and complete the file.

    ${VAR} values are valid wherever a value is; the watchlist rule language is checked by
    check-config, not by the schema. When the --config file exists, its target names are offered
    for completion where watchlists name targets (the file need not be valid).

    \b
    Example:
      newswatch config schema > config.schema.json
      # then, first line of config.yaml:
      # yaml-language-server: $schema=./config.schema.json
    """
    from scheduler.config import config_schema, target_names

    click.echo(json.dumps(config_schema(target_names(config_path)), indent=2, ensure_ascii=False))


@main.command("test-alert")
@config_option
@click.argument("target")
def test_alert(config_path: Path, target: str) -> None:
    """Send a test message to one target, to check its URL or SMTP settings.

    \b
    Example:
      newswatch test-alert slack-analysts
    """
    config = _load(config_path)
    if target not in config.targets:
        why = config.disabled_targets.get(target)
        known = ", ".join(sorted([*config.targets, *config.disabled_targets]))
        raise click.ClickException(f"target {target!r} is disabled: {why}" if why
                                   else f"no target named {target!r}; configured: {known}")
    try:
        send_test_alert(config.targets[target])
    except DeliveryError as exc:
        raise click.ClickException(f"test alert to {target} failed: {exc}") from None
    click.echo(f"test alert sent to {target}")


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status(config_path: Path, as_json: bool) -> None:
    """Show each source's health, the outbox and the targets.

    The daemon counts as running only while its heartbeat is recent and its pid exists. Exits 1 when
    the database has a problem (read-only file or folder), and with "no database yet" when there is
    none (status never creates one).

    \b
    Example:
      newswatch status --json
    """
    try:
        report = status_report(_load(config_path))
    except NoDatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        if report["problems"]:
            sys.exit(1)
        return
    daemon, liveness = report["daemon"], report["daemon_liveness"]
    click.echo(f"daemon: {daemon['process']}, last heartbeat {daemon['heartbeat']}" if daemon
               else f"daemon: not running ({liveness['why']})")
    for problem in report["problems"]:
        click.echo(f"PROBLEM: {problem}")
    click.echo(f"database {report['database']} ({report['database_bytes'] / 1e6:.1f} MB, "
               f"{report['articles']} articles)")
    click.echo("sources:")
    for source in report["sources"]:
        if source.get("never_crawled"):
            click.echo(f"  {source['name']:<28} never crawled")
            continue
        # No "ok" beside the failure count: the state says it, and "ok; state empty" would contradict itself.
        error = f"; {source['error_class']}: {source.get('error') or ''}" if source.get("error_class") else ""
        next_run = f"; next run {source['next_run']}" if source.get("next_run") else ""
        detail = f" ({source['state_detail']})" if source.get("state_detail") else ""
        click.echo(f"  {source['name']:<28} last success {source.get('last_success') or 'never'}; "
                   f"failures in a row {source.get('consecutive_failures') or 0}{error}{next_run}; "
                   f"state {source.get('state', '?')}{detail}")
    click.echo("outbox:")
    for target, counts in sorted(report["outbox"].items()):
        click.echo(f"  {target:<28} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    click.echo("targets:")
    for name, state in report["targets"].items():
        click.echo(f"  {name:<28} {state}")
    if report.get("workers"):
        from scheduler.workers.status import format_workers

        click.echo(format_workers(report["workers"]))
    if report["problems"]:
        sys.exit(1)


@main.command()
@config_option
@click.option("--watchlist", required=True, help="The watchlist to try.")
@click.option("--since", default="30d", show_default=True, help="Only articles newer than this (e.g. 7d).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per article it would alert on.")
def backtest_command(config_path: Path, watchlist: str, since: str, as_json: bool) -> None:
    """Run a watchlist over stored articles: what would it have alerted?

    Edit config.yaml, then backtest before the edit goes live (the daemon reloads on save).

    \b
    Example:
      newswatch backtest --watchlist arms-deals --since 7d
    """
    config = _load(config_path)
    try:
        window = timedelta(seconds=parse_duration(since))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        hits = backtest(config, watchlist, window)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    except NoDatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    for article, verdict in hits:
        if as_json:
            click.echo(json.dumps({"id": article.id, "url": article.url, "title": article.title,
                                   "score": verdict.score, "rules": list(verdict.rules)}, ensure_ascii=False))
        else:
            terms = ", ".join(sorted({e.term for e in verdict.evidence}))
            click.echo(f"{verdict.score:6.2f}  {article.title}\n        {article.url}\n        {terms}")
    if not as_json:
        click.echo(f"{len(hits)} article(s) would have alerted on {watchlist}")


main.add_command(backtest_command, "backtest")


@main.command()
@config_option
@click.option("--limit", default=20, show_default=True, help="How many stories, newest first.")
def stories(config_path: Path, limit: int) -> None:
    """List the newest stories (groups of articles about one event) and their outlets.

    \b
    Example:
      newswatch stories --limit 5
    """
    config = _load(config_path)
    try:
        require_database(config)
    except NoDatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    db = open_store(config.database)
    try:
        for story in list_stories(db, limit=limit):
            click.echo(_format_story(story))
    finally:
        db.close()


def _format_story(story: StorySummary) -> str:
    outlets = ", ".join(story.outlets) or story.source
    watchlists = ", ".join(story.watchlists) or "no watchlist"
    return (f"#{story.id} {story.title}\n    {story.url}\n    {story.article_count} article(s) from {outlets}; "
            f"{watchlists}; first seen {story.first_seen}")


@main.command("prune")
@config_option
@click.option("--vacuum", is_flag=True, help="Also compact the database file (rewrites it; takes a while).")
def prune_command(config_path: Path, vacuum: bool) -> None:
    """Apply the retention settings now (the daemon also does it on its schedule).

    Drops old article bodies, seen URLs, send attempts, sent alerts and quiet stories' signatures;
    never what keeps a story from alerting twice.

    \b
    Example:
      newswatch prune --vacuum
    """
    from scheduler.maintenance import prune

    report = prune(_load(config_path), vacuum=vacuum)
    click.echo(f"emptied {report.articles_emptied} article bodies, forgot {report.seen_urls_forgotten} seen URLs; "
               f"deleted {report.deliveries_dropped} send attempts and {report.sent_dropped} sent alerts; dropped "
               f"the signatures of {report.signatures_dropped} story articles; "
               f"database {report.database_bytes / 1e6:.1f} MB")


@main.group("alerts")
def alerts_group() -> None:
    """Inspect and repair the alert outbox."""


@alerts_group.command("retry")
@config_option
@click.option("--target", default=None, help="Only alerts for this target.")
def alerts_retry(config_path: Path, target: str | None) -> None:
    """Put dead-lettered alerts back in the queue; the daemon (or `crawl --once`) sends them.

    \b
    Example:
      newswatch alerts retry --target slack-analysts
    """
    config = _load(config_path)
    db = open_store(config.database)
    try:
        count = retry_dead(db, target)
    finally:
        db.close()
    click.echo(f"{count} dead alert(s) queued again")


@alerts_group.command("send")
@config_option
@click.option("--target", required=True, help="The target to send to (must be enabled).")
@click.option("--story", "story_id", type=int, default=None, help="This story (its id in `newswatch stories`).")
@click.option("--since", default=None, help="Stories matched within this long (e.g. 1d).")
@click.option("--watchlist", default=None, help="Only this watchlist's matches.")
def alerts_send(config_path: Path, target: str, story_id: int | None, since: str | None,
                watchlist: str | None) -> None:
    """Queue alerts by hand: a story, or every story matched recently, for one target.

    A (story, watchlist, target) already queued or sent is never queued again. Without --watchlist,
    the watchlists routed to the target are used (for --story: those the story matched, routed or
    not). The daemon (or `crawl --once`) sends what is queued.

    \b
    Examples:
      newswatch alerts send --story 42 --target slack-analysts
      newswatch alerts send --since 1d --target slack-analysts --watchlist arms-deals
    """
    if (story_id is None) == (since is None):
        raise click.UsageError("give either --story ID or --since DURATION")
    config = _load(config_path)
    if target not in config.targets:
        why = config.disabled_targets.get(target)
        known = ", ".join(sorted([*config.targets, *config.disabled_targets])) or "none"
        raise click.ClickException(f"target {target!r} is disabled ({why}); enable it first" if why
                                   else f"no target named {target!r}; configured: {known}")
    names = [w.name for w in config.watchlists]
    if watchlist is not None and watchlist not in names:
        raise click.UsageError(f"no watchlist named {watchlist!r}; configured: {', '.join(names)}")
    window = None
    if since is not None:
        try:
            window = timedelta(seconds=parse_duration(since))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    if watchlist is not None:
        chosen = [watchlist]
    elif story_id is not None:
        chosen = names  # by hand: whatever the story matched, routed to the target or not
    else:
        chosen = [w for w, specs in config.routes().items() if any(s.target == target for s in specs)]
    routes = {w: [target] for w in chosen}  # by hand: sent at once, no digest, no min_outlets
    db = open_store(config.database)
    try:
        report = backfill_target(db, target, routes, window=window, story_id=story_id)
    finally:
        db.close()
    click.echo(f"queued {report.queued} story match(es) for {target} in {report.messages} new message(s); "
               f"{report.already} already queued or sent (not queued again)")
    if story_id is not None and not (report.queued or report.already):
        raise click.ClickException(f"story {story_id} has no match for "
                                   f"{watchlist or 'any watchlist'}; see `newswatch stories`")



def _register_groups() -> None:
    """Command groups that live in their own modules (each imports this module's helpers lazily)."""
    from scheduler.cli_eval import eval_command, suggest_command
    from scheduler.cli_sources import sources_group
    from scheduler.cli_workers import worker_command
    from scheduler.web.command import web

    main.add_command(sources_group)
    main.add_command(web)
    main.add_command(eval_command)
    main.add_command(suggest_command)
    main.add_command(worker_command)


_register_groups()
