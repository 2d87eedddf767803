"""Build hook: compile the matcher's two hot modules with mypyc where a C compiler is at hand.

Everything else about the distribution is declared in pyproject.toml. mypyc (mypy's compiler) turns the
type-annotated ``alerts/match/matcher.py`` and ``alerts/match/rules_eval.py`` into C extensions; rule evaluation
then runs about 1.5 times faster (``bench/bench_matcher_speed.py`` prints which build it measured).
The code is the same either way, so compiling is never required:

- ``NEWSWATCH_PURE_PYTHON=1`` at install time skips it;
- without a working compiler the extensions are optional (``Extension.optional``): pip warns and
  installs the pure-Python modules;
- at run time ``alerts.match.compiled`` falls back to the source when a module was edited after it was
  compiled (its SHA-256 differs from the one recorded here in ``alerts/match/compiled_sources.json``), or
  when ``NEWSWATCH_PURE_PYTHON=1`` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import Extension, setup

COMPILED = ["alerts/match/matcher.py", "alerts/match/rules_eval.py"]
GROUP = "newswatch_matcher"  # the shared library is ``newswatch_matcher__mypyc`` (see alerts.match.compiled)
DIGESTS = Path("alerts/match/compiled_sources.json")  # what was compiled, to tell a stale module at run time


def record_digests() -> None:
    """Write the SHA-256 of each source being compiled beside it (read by ``alerts.match.compiled``)."""
    digests = {Path(path).name: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in COMPILED}
    DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def compiled_extensions() -> list[Extension]:
    """The mypyc extensions, or none when compiling is switched off or mypyc cannot type-check."""
    if os.environ.get("NEWSWATCH_PURE_PYTHON") == "1":
        print("newswatch: NEWSWATCH_PURE_PYTHON=1, installing the pure-Python matcher")
        return []
    try:
        from mypyc.build import mypycify

        extensions = mypycify(["--ignore-missing-imports", *COMPILED], group_name=GROUP, opt_level="3")
    except (SystemExit, Exception) as exc:  # mypyc exits on type errors; ImportError: no mypyc
        print(f"newswatch: not compiling the matcher ({exc!r}); installing the pure-Python modules")
        return []
    for extension in extensions:
        extension.optional = True  # no compiler: pip goes on with the pure-Python modules
    record_digests()
    return list(extensions)


setup(ext_modules=compiled_extensions())
