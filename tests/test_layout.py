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
