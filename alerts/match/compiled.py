"""Run the mypyc-compiled matcher when it is there and current, the pure-Python source otherwise.

setup.py compiles ``alerts.match.matcher`` and ``alerts.match.rules_eval`` with mypyc where it can. Python imports
an extension module before a source file of the same name, so after an edit of ``matcher.py`` in a
checkout the old compiled module would go on running, silently, until the next ``pip install -e .``.
``choose_build`` (run when this module is imported, which ``alerts/__init__`` does before anything
imports the matcher) prevents that: the two modules are imported from source when a source file
differs from the one that was compiled, when the compiled set is incomplete, or when
``NEWSWATCH_PURE_PYTHON=1`` is set (to debug, or to compare the two builds).

- "Differs" is by content: setup.py records each compiled source's SHA-256 in
  ``compiled_sources.json``. Modification times would not do: pip unpacks a wheel's sources after its
  extensions, so every fresh install would look stale.
- Both or neither: compiled modules call each other directly, not through ``sys.modules``, so a mix
  of compiled and source modules would not run the edited code either.

Settings read: the ``NEWSWATCH_PURE_PYTHON`` environment variable.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)

COMPILED_MODULES = ("matcher", "rules_eval")
GROUP_LIBRARY = "newswatch_matcher__mypyc"  # setup.py's mypyc group: the code of both modules
DIGESTS = "compiled_sources.json"  # written by setup.py: source file name -> SHA-256 of what was compiled
PACKAGE_DIR = Path(__file__).resolve().parent

BUILD = "pure Python"  # what ``choose_build`` decided; shown by the benchmark and at daemon start


def compiled_module(directory: Path, name: str) -> Path | None:
    """The extension module compiled from ``directory/name.py``, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def reason_for_source(directory: Path = PACKAGE_DIR, group_found: bool | None = None) -> str | None:
    """Why the matcher must run from source, or None when the compiled modules may run.

    Args:
        directory: the package directory holding the sources and any compiled modules.
        group_found: whether mypyc's shared library can be imported (looked up when None).
    """
    compiled = {name: compiled_module(directory, name) for name in COMPILED_MODULES}
    if not any(compiled.values()):
        return "not compiled"
    if os.environ.get("NEWSWATCH_PURE_PYTHON") == "1":
        return "NEWSWATCH_PURE_PYTHON=1"
    missing = [name for name, path in compiled.items() if path is None]
    if group_found is None:
        group_found = importlib.util.find_spec(GROUP_LIBRARY) is not None
    if not group_found:
        missing.append(GROUP_LIBRARY)
    if missing:
        return f"the compiled set is incomplete (no {', '.join(missing)})"
    try:
        digests = json.loads((directory / DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no readable {DIGESTS} to tell which sources were compiled"
    for name in COMPILED_MODULES:
        source = directory / f"{name}.py"
        if source.exists() and hashlib.sha256(source.read_bytes()).hexdigest() != digests.get(source.name):
            return f"alerts/match/{name}.py changed after it was compiled; `pip install -e .` compiles it again"
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' source files, ahead of the extension modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != "alerts.match" or name not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, PACKAGE_DIR / f"{name}.py")


def choose_build() -> str:
    """Decide once which build of the matcher this process imports; returns the description."""
    global BUILD
    if any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        return BUILD
    reason = reason_for_source()
    if reason is None:
        BUILD = "compiled (mypyc)"
    elif reason == "not compiled":
        BUILD = "pure Python"
    else:
        sys.meta_path.insert(0, _SourceFinder())
        BUILD = f"pure Python ({reason})"
        if not reason.startswith("NEWSWATCH_PURE_PYTHON"):
            logger.warning("matcher runs from source: %s", reason)
    return BUILD


choose_build()
