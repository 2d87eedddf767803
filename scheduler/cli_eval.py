"""`newswatch eval` and `newswatch suggest`: how well a watchlist does against the analysts' labels,
and which edits those labels point to.

- ``eval --watchlist NAME [--labels FILE]`` runs the watchlist as configured over every judged story
  (the workbench's judgements, or a labels file) and prints precision, recall and F1, then its misses
  (judged relevant, not flagged) and false alarms (judged not relevant, flagged) with the evidence.
- ``suggest --watchlist NAME [--since 30d]`` proposes terms (from the misses) and exclusions (from the
  false alarms), each tried over the stored stories of the window and the judged ones, with the
  stories it would change; a person accepts one by pasting its lines in the watchlist lab.

A labels file is JSON Lines, one ``{"story_id": 12, "relevant": true}`` or ``{"url": "https://…",
"relevant": false}`` a line, optionally with ``"watchlist"`` (lines for other watchlists are skipped).
A URL is looked up among stored articles: in a story it labels the story, otherwise the article alone
(a story no watchlist started — a miss the workbench cannot show).

Kept apart from ``scheduler.cli`` so each command group stays small; ``scheduler.cli`` registers the
commands. The work is ``alerts.lab`` and ``alerts.suggest``.

Settings read: ``database``, ``watchlists`` and ``gazetteer`` of the config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from alerts.lab import Change, Evaluation, ItemKey, Verdict, corpus_for, run_version, story_labels
from alerts.match.watchlist import WatchlistSpec
from alerts.suggest import Suggestion, suggest
from scheduler.bounded_yaml import compose_and_load, read_limited
from scheduler.config import Config, load_config, parse_duration
from scheduler.errors import ConfigError
from scheduler.schema import open_store

EVIDENCE_SHOWN = 3


class _ConfigProblem(click.ClickException):
    exit_code = 2


def _config_option(func: Any) -> Any:
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=Path("config.yaml"), envvar="NEWSWATCH_CONFIG", show_default=True,
                        help="The configuration file.")(func)


def _setup(config_path: Path, watchlist: str) -> tuple[Config, WatchlistSpec, sqlite_utils.Database]:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise _ConfigProblem(str(exc)) from None
    spec = next((w for w in config.watchlists if w.name == watchlist), None)
    if spec is None:
        known = ", ".join(w.name for w in config.watchlists) or "none"
        raise click.UsageError(f"no watchlist named {watchlist!r} in {config_path}; configured: {known}")
    if not config.database.is_file():
        raise click.ClickException(f"no database yet at {config.database}: run `newswatch run` or "
                                   "`newswatch crawl --once` first (or check `database:` in the config)")
    return config, spec, open_store(config.database)


def read_labels(db: sqlite_utils.Database, path: Path, watchlist: str) -> tuple[dict[ItemKey, bool], list[str]]:
    """Labels from a JSON Lines file: item -> relevant, and notes on lines that label nothing stored.

    Raises:
        click.ClickException: a line is not JSON, or lacks ``relevant`` or both ``story_id`` and ``url``.
    """
    labels: dict[ItemKey, bool] = {}
    notes: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise click.ClickException(f"cannot read labels file {path}: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise click.ClickException(f"{path}:{number}: not JSON; write one object a line, e.g. "
                                       '{"story_id": 12, "relevant": true}') from None
        if not isinstance(entry, dict) or not isinstance(entry.get("relevant"), bool):
            raise click.ClickException(f"{path}:{number}: needs \"relevant\": true or false")
        if entry.get("watchlist") not in (None, watchlist):
            continue
        key = _key_of(db, entry)
        if key is None:
            if "story_id" not in entry and "url" not in entry:
                raise click.ClickException(f"{path}:{number}: needs \"story_id\" or \"url\"")
            notes.append(f"{path}:{number}: {entry.get('url') or entry.get('story_id')} is not in the store "
                         "(never fetched, or pruned): not scored")
            continue
        labels[key] = entry["relevant"]
    return labels, notes


def _key_of(db: sqlite_utils.Database, entry: Mapping[str, Any]) -> ItemKey | None:
    if isinstance(entry.get("story_id"), int):
        found = db.execute("SELECT 1 FROM stories WHERE id = ?", [entry["story_id"]]).fetchone()
        return ("story", int(entry["story_id"])) if found else None
    if isinstance(entry.get("url"), str):
        row = db.execute("SELECT a.id, sa.story_id FROM articles a LEFT JOIN story_articles sa "
                         "ON sa.article_id = a.id WHERE a.url = ?", [entry["url"]]).fetchone()
        if row is None:
            return None
        return ("story", int(row[1])) if row[1] is not None else ("article", int(row[0]))
    return None


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _name(key: ItemKey) -> str:
    return f"{key[0]} {key[1]}"


def _evidence_lines(verdict: Verdict) -> list[str]:
    lines = [f"- {e.term} ({e.field}, rule {e.rule}): {' '.join(e.sentence.split())}"
             for e in verdict.evidence[:EVIDENCE_SHOWN]]
    if len(verdict.evidence) > EVIDENCE_SHOWN:
        lines.append(f"- … and {len(verdict.evidence) - EVIDENCE_SHOWN} more")
    return lines


def _wrong(evaluation: Evaluation) -> tuple[list[Any], list[Any]]:
    misses, alarms = [], []
    for item in evaluation.items:
        label = evaluation.labels.get(item.key)
        verdict = evaluation.verdicts[item.key]
        if label is True and not verdict.flagged:
            misses.append((item, verdict))
        elif label is False and verdict.flagged:
            alarms.append((item, verdict))
    return misses, alarms


def _item_json(item: Any, verdict: Verdict) -> dict[str, Any]:
    return {"item": _name(item.key), "story_id": item.story_id, "title": item.title, "url": item.url,
            "score": verdict.score, "rules": list(verdict.rules), "reason": verdict.reason,
            "evidence": [{"term": e.term, "field": e.field, "rule": e.rule, "sentence": e.sentence}
                         for e in verdict.evidence]}


@click.command("eval")
@_config_option
@click.option("--watchlist", required=True, help="The watchlist to score.")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A JSON Lines file of labels instead of the workbench's judgements.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def eval_command(config_path: Path, watchlist: str, labels_file: Path | None, as_json: bool) -> None:
    """Score a watchlist against the analysts' judgements (or a labels file); list its misses and false alarms.

    \b
    Examples:
      newswatch eval --watchlist maritime-disputes
      newswatch eval --watchlist arms-deals --labels labels.jsonl --json
    """
    config, spec, db = _setup(config_path, watchlist)
    try:
        notes: list[str] = []
        if labels_file is not None:
            labels, notes = read_labels(db, labels_file, watchlist)
        else:
            labels = story_labels(db, watchlist)
        corpus = corpus_for(db, labels, None, window=False)
        evaluation = run_version(corpus, spec, config.gazetteer, labels)
    finally:
        db.close()
    for note in notes:
        click.echo(note, err=True)
    source = str(labels_file) if labels_file else "the workbench's judgements"
    s = evaluation.scores
    misses, alarms = _wrong(evaluation)
    if as_json:
        click.echo(json.dumps({"watchlist": watchlist, "labels": source, "judged": s.judged, "tp": s.tp, "fp": s.fp,
                               "fn": s.fn, "tn": s.tn, "precision": s.precision, "recall": s.recall, "f1": s.f1,
                               "misses": [_item_json(i, v) for i, v in misses],
                               "false_alarms": [_item_json(i, v) for i, v in alarms]}, ensure_ascii=False))
        return
    if not s.judged:
        click.echo(f"{watchlist}: nothing judged yet in {source}; judge stories in the workbench "
                   "(Relevant / Not relevant) or pass --labels FILE")
        return
    click.echo(f"{watchlist}: {s.judged} judged ({source}) · precision {_fmt(s.precision)} · recall "
               f"{_fmt(s.recall)} · F1 {_fmt(s.f1)}  (hits {s.tp}, false alarms {s.fp}, misses {s.fn}, "
               f"rightly left out {s.tn})")
    for heading, rows in ((f"Misses (judged relevant, not flagged): {len(misses)}", misses),
                          (f"False alarms (judged not relevant, flagged): {len(alarms)}", alarms)):
        click.echo(f"\n{heading}")
        for item, verdict in rows:
            click.echo(f"  {_name(item.key)}  score {verdict.score:g} / {spec.threshold:g}  {item.title}")
            click.echo(f"      {item.url}")
            if not verdict.flagged and verdict.reason:
                click.echo(f"      why not: {verdict.reason}")
            for line in _evidence_lines(verdict):
                click.echo(f"      {line}")


def _raw_watchlist(config_path: Path, name: str) -> dict[str, Any]:
    """The watchlist as written in the file (before validation), which suggestions extend."""
    _, data = compose_and_load(read_limited(config_path))
    for entry in (data or {}).get("watchlists") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise click.ClickException(f"watchlist {name!r} is not written as a mapping in {config_path}")


def _change_line(change: Change) -> str:
    judged = {True: "judged relevant", False: "judged not relevant", None: "not judged"}[change.judged]
    return f"{_name(change.item.key)} [{judged}] {change.item.title}"


def _suggestion_json(s: Suggestion) -> dict[str, Any]:
    r = s.report
    return {"kind": s.kind, "text": s.text, "add": s.change, "why": s.why, "fixed": s.fixed, "broken": s.broken,
            "precision": [r.before.precision, r.after.precision], "recall": [r.before.recall, r.after.recall],
            "newly_flagged": [_name(c.item.key) for c in r.newly_flagged],
            "no_longer_flagged": [_name(c.item.key) for c in r.no_longer_flagged]}


@click.command("suggest")
@_config_option
@click.option("--watchlist", required=True, help="The watchlist to improve.")
@click.option("--since", default="30d", show_default=True,
              help="Try each suggestion on the stories fetched this long ago (and every judged one).")
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Suggestions of each kind (terms, exclusions) at most.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a suggestion, for scripts.")
def suggest_command(config_path: Path, watchlist: str, since: str, limit: int, as_json: bool) -> None:
    """Propose terms or exclusions that the judged misses and false alarms point to, with the stories each changes.

    Nothing is written: accept a suggestion by adding its lines in the watchlist lab (or config.yaml).

    \b
    Example:
      newswatch suggest --watchlist maritime-disputes --since 14d
    """
    try:
        window = timedelta(seconds=parse_duration(since))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config, spec, db = _setup(config_path, watchlist)
    try:
        labels = story_labels(db, watchlist)
        found = suggest(db, spec, _raw_watchlist(config_path, watchlist), config.gazetteer, labels,
                        since=datetime.now(UTC) - window, limit=limit)
    finally:
        db.close()
    if as_json:
        for s in found:
            click.echo(json.dumps(_suggestion_json(s), ensure_ascii=False))
        return
    relevant = sum(labels.values())
    if not labels:
        click.echo(f"{watchlist}: nothing judged yet; judge stories in the workbench first")
        return
    if not found:
        click.echo(f"{watchlist}: no term or exclusion fixes more judged stories than it breaks "
                   f"({len(labels)} judged, {relevant} relevant)")
        return
    click.echo(f"Suggestions for {watchlist} ({len(labels)} judged stories; each tried on the stories of the "
               f"last {since} and every judged one):")
    for number, s in enumerate(found, 1):
        r = s.report
        click.echo(f"\n{number}. {'add term' if s.kind == 'term' else 'exclude'} {s.text!r} — {s.why}")
        click.echo(f"   add to the watchlist: {json.dumps(s.change, ensure_ascii=False)}")
        click.echo(f"   precision {_fmt(r.before.precision)} → {_fmt(r.after.precision)} · recall "
                   f"{_fmt(r.before.recall)} → {_fmt(r.after.recall)}")
        for verb, changes in (("would newly flag", r.newly_flagged), ("would stop flagging", r.no_longer_flagged)):
            if changes:
                click.echo(f"   {verb} {len(changes)}:")
                for change in changes[:10]:
                    click.echo(f"     {_change_line(change)}")
                if len(changes) > 10:
                    click.echo(f"     … and {len(changes) - 10} more")
