"""Change config.yaml from a command or a page, keeping the user's comments, order and layout.

The file is the user's: they write comments beside sources and watchlists, group them, and keep it in
git. Rewriting it with PyYAML would drop every comment and reflow every line, so edits go through
ruamel.yaml's round-trip mode, which keeps comments, key order, flow-style mappings and quoting.

Every edit is validated before it is written: the new text is loaded with ``load_config`` from a
temporary file beside the real one (same directory, so relative paths resolve the same way); only if
that succeeds does it replace the file, atomically (``os.replace``), so a crash or a refused edit
leaves the old file whole. The running daemon notices the change as it notices any edit.

Settings read: none.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from scheduler.config import Config, load_config
from scheduler.errors import ConfigError


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user wrote on one
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def edit_config(path: Path, change: Callable[[CommentedMap], None],
                environ: Mapping[str, str] | None = None) -> Config:
    """Apply ``change`` to the parsed file, validate the result, then write it in place.

    Args:
        path: config.yaml.
        change: mutates the round-trip document (a mapping) in place.
        environ: the environment for ``${VAR}`` values while validating (default: the process's).

    Returns:
        The validated configuration of the new file.

    Raises:
        ConfigError: the edited file would not be valid (the file is left untouched).
    """
    yaml = _yaml()
    original = path.read_text(encoding="utf-8")
    document = yaml.load(original)
    if not isinstance(document, CommentedMap):
        raise ConfigError(str(path), [("(top level)", "the file must be a mapping of sections")])
    change(document)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return write_validated(path, buffer.getvalue(), environ)


def write_validated(path: Path, text: str, environ: Mapping[str, str] | None = None, *,
                    write: bool = True) -> Config:
    """Replace config.yaml with `text` if, and only if, it validates (atomically, beside the real file).

    Args:
        path: config.yaml.
        text: the whole new file.
        environ: the environment for ``${VAR}`` values while validating.
        write: False only validates (a preview): the file is never touched.

    Raises:
        ConfigError: `text` is not a valid configuration (the file is left untouched).
    """
    handle, temporary = tempfile.mkstemp(prefix=".config-edit-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            config = load_config(temporary, environ)
        except ConfigError as exc:  # name the user's file, not the temporary one
            problems = [(where.replace(temporary, str(path)), message) for where, message in exc.problems]
            raise ConfigError(str(path), problems) from None
        if write:
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    Path(temporary).unlink(missing_ok=True)  # gone already when it replaced the file
    return config


def add_source(path: Path, source: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Append one entry to ``sources:`` (written on one line, like the shipped file's), validated.

    Raises:
        ConfigError: a source of that name exists, or the result is not valid.
    """

    def change(document: CommentedMap) -> None:
        sources = document.get("sources")
        if sources is None:
            sources = document["sources"] = CommentedSeq()
        if any(isinstance(s, Mapping) and s.get("name") == source["name"] for s in sources):
            raise ConfigError(str(path), [("sources", f"a source named {source['name']!r} exists already; "
                                                     "pick another name")])
        entry = CommentedMap(source)
        entry.fa.set_flow_style()
        sources.append(entry)

    return edit_config(path, change, environ)



# -- one watchlist, edited as text (the watchlist lab) -----------------------------------------------
#
# The lab edits one watchlist and must leave every other line of the file as the user wrote it:
# ruamel's round-trip dump keeps comments but rejoins flow lists the user wrapped over several lines.
# So the watchlist's own lines are cut out of the text and the edited text put in their place; the
# whole file is then validated before it replaces the old one.


def _watchlist_lines(text: str, name: str, path: Path) -> tuple[int, int, int]:
    """(first line, end line, column of the mapping's keys) of the watchlist called `name` in `text`."""
    document = _yaml().load(text)
    if not isinstance(document, CommentedMap):
        raise ConfigError(str(path), [("(top level)", "the file must be a mapping of sections")])
    watchlists = document.get("watchlists")
    index = next((i for i, entry in enumerate(watchlists or []) if isinstance(entry, Mapping)
                  and entry.get("name") == name), None)
    if not isinstance(watchlists, CommentedSeq) or index is None:
        raise ConfigError(str(path), [("watchlists", f"there is no watchlist named {name!r}; "
                                                     "`newswatch check-config` lists the configured ones")])
    lines = text.splitlines(keepends=True)
    first, column = watchlists.lc.item(index)
    if index + 1 < len(watchlists):
        end = watchlists.lc.item(index + 1)[0]
    else:
        keys = list(document.keys())
        after = keys.index("watchlists") + 1
        end = document.lc.key(keys[after])[0] if after < len(keys) else len(lines)
    if column < 2 or lines[first][column - 2:column] != "- " or lines[first][:column - 2].strip():
        raise ConfigError(str(path), [(f"watchlists[{index}]", "the lab edits watchlists written in block style "
                                       "(\"- name: ...\" on its own line); edit this one in the file")])
    while end > first + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # blank lines and comments before the next entry belong to it
    return first, end, column


def watchlist_text(path: Path, name: str) -> str:
    """One watchlist of config.yaml as the user wrote it, comments included, without its indentation.

    Raises:
        ConfigError: no watchlist of that name, or one written in flow style.
    """
    text = path.read_text(encoding="utf-8")
    first, end, column = _watchlist_lines(text, name, path)
    lines = text.splitlines()[first:end]
    lines[0] = " " * column + lines[0][column:]
    return "\n".join(line[column:] if not line[:column].strip() else line.lstrip() for line in lines) + "\n"


def parse_watchlist_text(text: str) -> CommentedMap:
    """Edited watchlist YAML (one mapping) as a round-trip mapping, comments kept.

    Raises:
        ValueError: not YAML, or not one mapping.
    """
    try:
        entry = _yaml().load(text)
    except Exception as exc:  # ruamel raises many kinds; all mean "not YAML"
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"the watchlist is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(entry, CommentedMap):
        raise ValueError("a watchlist is one mapping with name, targets and rules, e.g. name: my-watchlist")
    return entry


def replace_watchlist(path: Path, name: str, raw_mapping: Mapping[str, Any] | str,
                      environ: Mapping[str, str] | None = None, *, write: bool = True) -> Config:
    """Put a new version in place of the watchlist called `name` (it may rename it), validated.

    Every other line of the file stays as it was. Given YAML text (as edited in the lab), the text goes
    in as written, comments included; given a mapping, it is written in ruamel's block style.

    Args:
        path: config.yaml.
        name: the watchlist to replace.
        raw_mapping: the new watchlist: YAML text of one mapping, or the mapping (name, targets, rules, ...).
        environ: the environment for ``${VAR}`` values while validating.
        write: False validates the edit and returns the configuration it would give, writing nothing
            (the lab's preview).

    Returns:
        The validated configuration of the new file.

    Raises:
        ConfigError: no watchlist called `name`, the new text is not one mapping, or the file would not
            be valid (it is left untouched).
    """
    if isinstance(raw_mapping, str):
        new_text = raw_mapping
        try:
            parse_watchlist_text(new_text)
        except ValueError as exc:
            raise ConfigError(str(path), [(f"watchlist {name}", str(exc))]) from None
    else:
        buffer = io.StringIO()
        _yaml().dump(CommentedMap(raw_mapping), buffer)
        new_text = buffer.getvalue()
    text = path.read_text(encoding="utf-8")
    first, end, column = _watchlist_lines(text, name, path)
    lines = text.splitlines(keepends=True)
    body = [line.rstrip() for line in new_text.strip("\n").splitlines()]
    start = next(i for i, line in enumerate(body) if line.strip() and not line.lstrip().startswith("#"))
    shown = [(" " * column + line) if line.strip() else "" for line in body]
    shown[start] = " " * (column - 2) + "- " + body[start]
    replaced = "".join(lines[:first]) + "\n".join(shown) + "\n" + "".join(lines[end:])
    return write_validated(path, replaced, environ, write=write)
