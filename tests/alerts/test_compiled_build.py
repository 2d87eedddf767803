"""The mypyc-compiled matcher: used when current, bypassed when stale or switched off, same answers."""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.match import compiled
from alerts.match.compiled import COMPILED_MODULES, DIGESTS, GROUP_LIBRARY, reason_for_source
from tests.conftest import CORPUS, SEED, need

ROOT = Path(__file__).resolve().parent.parent.parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _package(tmp_path: Path, extensions: tuple[str, ...] = COMPILED_MODULES) -> Path:
    """A package directory with both sources, the given compiled modules, and the sources' digests."""
    digests = {}
    for name in COMPILED_MODULES:
        source = tmp_path / f"{name}.py"
        source.write_text(f"# the source of {name}\n")
        digests[source.name] = hashlib.sha256(source.read_bytes()).hexdigest()
    for name in extensions:
        (tmp_path / f"{name}{SUFFIX}").write_bytes(b"\x7fELF")
    (tmp_path / DIGESTS).write_text(json.dumps(digests))
    return tmp_path


def test_a_current_compiled_set_is_used(tmp_path: Path) -> None:
    package = _package(tmp_path)
    # Newer sources than extensions, as pip leaves them when it unpacks a wheel, are still current.
    for name in COMPILED_MODULES:
        os.utime(package / f"{name}{SUFFIX}", (1_000_000_000, 1_000_000_000))
    assert reason_for_source(package, group_found=True) is None


def test_a_pure_install_needs_nothing(tmp_path: Path) -> None:
    assert reason_for_source(_package(tmp_path, extensions=()), group_found=False) == "not compiled"


def test_an_edited_source_runs_instead_of_its_stale_compiled_module(tmp_path: Path) -> None:
    package = _package(tmp_path)
    with (package / "rules_eval.py").open("a") as source:
        source.write("_MAX_EVIDENCE_PER_RULE = 5\n")
    reason = reason_for_source(package, group_found=True)
    assert reason is not None and "rules_eval.py changed after it was compiled" in reason
    assert "pip install -e ." in reason


def test_without_recorded_digests_the_compiled_set_is_not_trusted(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / DIGESTS).unlink()
    reason = reason_for_source(package, group_found=True)
    assert reason is not None and DIGESTS in reason


def test_an_incomplete_compiled_set_is_not_used(tmp_path: Path) -> None:
    reason = reason_for_source(_package(tmp_path, extensions=("matcher",)), group_found=True)
    assert reason is not None and "incomplete" in reason and "rules_eval" in reason
    reason = reason_for_source(_package(tmp_path), group_found=False)
    assert reason is not None and GROUP_LIBRARY in reason


def test_the_environment_switch_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_PURE_PYTHON", "1")
    assert reason_for_source(_package(tmp_path), group_found=True) == "NEWSWATCH_PURE_PYTHON=1"


def _python(code: str, pure: bool) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    if pure:
        env["NEWSWATCH_PURE_PYTHON"] = "1"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pure_python_switch_imports_both_modules_from_source() -> None:
    out = _python(
        "import alerts, alerts.match.matcher as m, alerts.match.rules_eval as r, alerts.match.compiled as c;"
        "print(m.__file__); print(r.__file__); print(c.BUILD)",
        pure=True,
    ).splitlines()
    assert out[0].endswith("matcher.py") and out[1].endswith("rules_eval.py")
    assert out[2].startswith("pure Python")


def test_the_matcher_is_compiled_where_a_c_compiler_is_present() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: the pure-Python matcher is the expected build")
    assert compiled.BUILD == "compiled (mypyc)", (
        f"matcher build is {compiled.BUILD!r} although a C compiler is here; `pip install -e .` compiles it "
        "(the speed figures in bench/bench_matcher_speed.py assume the compiled build)"
    )


_MATCH_ALL = """
import json, sys, yaml
from alerts import compile_matcher, load_gazetteer, parse_watchlists, Document
from alerts.match import compiled
raw = yaml.safe_load(open("config.yaml", encoding="utf-8"))
matcher = compile_matcher(parse_watchlists(raw["watchlists"]), load_gazetteer(raw.get("gazetteer") or []))
print(compiled.BUILD)
for line in open(sys.argv[1], encoding="utf-8"):
    doc = Document(**json.loads(line))
    print(repr(matcher.match(doc)))
"""


def test_compiled_and_pure_builds_give_the_same_verdicts_and_evidence(tmp_path: Path) -> None:
    if not compiled.BUILD.startswith("compiled"):
        pytest.skip(f"matcher build here is {compiled.BUILD!r}: nothing to compare")
    news = need(CORPUS / "news")
    docs = [{"title": SEED.read_text(encoding="utf-8").split("\n", 1)[0], "body": SEED.read_text(encoding="utf-8")}]
    rows = [
        json.loads(line)
        for path in sorted(news.glob("*.jsonl"))
        if not path.name.startswith("labels")
        for line in path.read_text(encoding="utf-8").splitlines()
    ][::4]
    docs += [{"title": r.get("title") or "", "lead": r.get("text") or ""} for r in rows]
    # Long bodies with many hits: ten items glued together, so proximity and sentences get exercised.
    for i in range(0, len(rows) - 10, 10):
        paragraphs = [f"{r.get('title')}. {r.get('text') or ''}" for r in rows[i : i + 10]]
        docs.append({"title": "", "body": "\n\n".join(paragraphs)})
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    code = _MATCH_ALL.replace("sys.argv[1]", repr(str(path)))
    fast = _python(code, pure=False).splitlines()
    slow = _python(code, pure=True).splitlines()
    assert fast[0] == "compiled (mypyc)" and slow[0].startswith("pure Python")
    assert len(fast) == len(docs) + 1
    assert sum("matched=True" in line for line in fast) > 50  # the comparison covers real matches
    assert fast[1:] == slow[1:]
