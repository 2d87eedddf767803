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
    handle, temporary = tempfile.mkstemp(prefix=".config-edit-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(buffer.getvalue())
        try:
            config = load_config(temporary, environ)
        except ConfigError as exc:  # name the user's file, not the temporary one
            problems = [(where.replace(temporary, str(path)), message) for where, message in exc.problems]
            raise ConfigError(str(path), problems) from None
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
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
