"""The project's shape: imports flow scheduler → alerts → crawler, and each package's `__all__` is
complete and sorted."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"crawler": 0, "alerts": 1, "scheduler": 2}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & LAYERS.keys()


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_flow_one_way(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for imported in _imported_packages(path):
            if LAYERS[imported] > LAYERS[package]:
                offenders.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert offenders == [], "imports must flow scheduler → alerts → crawler"


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_all_is_sorted_and_complete(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    public = {name for name in vars(module) if not name.startswith("_")
              and not isinstance(getattr(module, name), type(importlib))}
    public -= {"annotations"}
    assert public <= set(exported), f"public names missing from {package}.__all__: {public - set(exported)}"
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which does not exist"


# alerts.match is pure: these may not be imported by it, directly or through another module of ours.
_IMPURE = ("alerts.delivery", "alerts.channels", "alerts.pipeline", "alerts.stories", "sqlite3", "sqlite_utils",
           "requests", "urllib.request", "http.client", "socket", "smtplib")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_of(path: Path, module: str) -> set[str]:
    """Every module `path` imports, at any depth of its code (function bodies too), as absolute names.

    `from a.b import c` counts as importing `a.b` and `a.b.c` (c may be a module); the implicit import
    of a parent package's __init__ is not counted (it would make every module depend on its package).
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _our_modules() -> dict[str, Path]:
    return {_module_name(p): p for package in ("alerts", "crawler") for p in sorted((ROOT / package).rglob("*.py"))}


def _impure(name: str) -> str | None:
    """The forbidden module `name` is or lies in, if any."""
    return next((bad for bad in _IMPURE if name == bad or name.startswith(bad + ".")), None)


def test_alerts_match_imports_nothing_impure_directly_or_through_other_modules() -> None:
    ours = _our_modules()
    graph = {name: _imports_of(path, name) for name, path in ours.items()}
    offenders: set[str] = set()
    for start in sorted(n for n in ours if n == "alerts.match" or n.startswith("alerts.match.")):
        chain = {start: [start]}
        todo = [start]
        while todo:  # breadth-first over our own modules, keeping how each was reached
            current = todo.pop(0)
            for imported in sorted(graph.get(current, ())):
                bad = _impure(imported)
                if bad:
                    offenders.add(" -> ".join([*chain[current], bad]))
                elif imported in ours and imported not in chain:
                    chain[imported] = [*chain[current], imported]
                    todo.append(imported)
    assert not offenders, "alerts.match must stay pure (no storage, network or delivery):\n" + "\n".join(
        sorted(offenders))


def test_the_purity_scan_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    import socket\n    from ..delivery import models\n", encoding="utf-8")
    assert {"socket", "alerts.delivery", "alerts.delivery.models"} <= _imports_of(probe, "alerts.match.probe")
