"""Tests of the bench/ scripts (they are scripts, not a package: `load_bench` imports one by file name)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"

# A config of two toy watchlists for the bench scripts' tests, over invented headlines (not corpus
# text): "shoal" flags maritime-disputes, "jets" flags arms-deals.
TOY_CONFIG = """
watchlists:
  - name: maritime-disputes
    rules:
      - any: [shoal]
  - name: arms-deals
    rules:
      - any: [jets]
"""

# Id prefixes of the held-out label files' items: a report that names one has leaked a held-out item.
HELD_OUT_PREFIXES = ("rss2024-", "written-", "written2-", "written3-", "written4-")


def load_bench(name: str) -> ModuleType:
    """Import bench/<name>.py as module `name` (once; later calls return the same module)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
