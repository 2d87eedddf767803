"""bench/bench_matcher_builds.py: each side matches with its own checkout's engine and config, the
parent alternates them, and a missing side is named rather than crashing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import BENCH, TOY_CONFIG

SCRIPT = BENCH / "bench_matcher_builds.py"
ROOT = BENCH.parent
NEWS = ROOT.parent / "shared" / "corpus" / "news"

# Invented headlines (not corpus text): two flag TOY_CONFIG's watchlists, one flags nothing.
DOCS = [["Navies face off at the shoal", "", ""], ["Air force buys jets", "", ""], ["Rain in the valley", "", ""]]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, cwd=ROOT)


def test_child_matches_with_the_given_checkout_and_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(TOY_CONFIG, encoding="utf-8")
    docs = tmp_path / "docs.json"
    docs.write_text(json.dumps(DOCS), encoding="utf-8")
    done = _run("--child", str(ROOT), "--config", str(config), "--docs", str(docs), "--passes", "3")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["matches"] == 2  # the shoal and the jets; the rain matches nothing
    assert report["articles"] == 9  # three documents, three passes
    assert report["cpu"] > 0


def test_child_refuses_an_engine_imported_from_elsewhere(tmp_path: Path) -> None:
    fake = tmp_path / "checkout"  # no alerts/ inside: the import falls through to this venv's package
    fake.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(TOY_CONFIG, encoding="utf-8")
    docs = tmp_path / "docs.json"
    docs.write_text(json.dumps(DOCS), encoding="utf-8")
    done = _run("--child", str(fake), "--config", str(config), "--docs", str(docs))
    assert done.returncode != 0
    assert "not from" in done.stderr


def test_a_before_checkout_without_a_virtualenv_is_named(tmp_path: Path) -> None:
    done = _run("--before", str(tmp_path))
    assert done.returncode == 2
    assert str(tmp_path / ".venv" / "bin" / "python") in done.stderr


@pytest.mark.skipif(not NEWS.exists(), reason=f"the shared news corpus is not at {NEWS}")
def test_compare_alternates_two_configs_and_prints_the_ratio(tmp_path: Path) -> None:
    before = tmp_path / "before.yaml"
    before.write_text(TOY_CONFIG, encoding="utf-8")
    done = _run("--before", str(ROOT), "--before-python", sys.executable, "--before-config", str(before),
                "--articles", "20", "--rounds", "2", "--passes", "1")
    assert done.returncode == 0, done.stderr
    assert len(re.findall(r"round +\d: before +[\d,]+/s +after +[\d,]+/s +ratio \d", done.stdout)) == 2
    sides = dict(re.findall(r"^  (before|after) .*matches \[(\d+)\]$", done.stdout, flags=re.M))
    assert set(sides) == {"before", "after"}
    assert "median ratio" in done.stdout


@pytest.mark.skipif(not NEWS.exists(), reason=f"the shared news corpus is not at {NEWS}")
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (apt-get install valgrind)")
@pytest.mark.skipif(os.environ.get("NEWSWATCH_VALGRIND_TESTS") != "1",
                    reason="about three minutes under valgrind; set NEWSWATCH_VALGRIND_TESTS=1 to run it")
@pytest.mark.slow
def test_instruction_counts_are_the_same_for_the_same_build_and_config(tmp_path: Path) -> None:
    from alerts.match import compiled

    if compiled.BUILD != "compiled (mypyc)":
        pytest.skip("instruction counts are taken in the compiled Matcher.match; this build is pure Python")
    config = tmp_path / "config.yaml"
    config.write_text(TOY_CONFIG, encoding="utf-8")
    # Both sides are this checkout with one config, in two processes: a count that varied between runs
    # (as a timed ratio on a shared machine does) would show here as two figures.
    done = _run("--before", str(ROOT), "--before-python", sys.executable, "--before-config", str(config),
                "--config", str(config), "--articles", "10", "--instructions")
    assert done.returncode == 0, done.stderr
    counts = dict(re.findall(r"^  (before|after) +([\d,]+) instructions/article", done.stdout, flags=re.M))
    assert set(counts) == {"before", "after"}
    assert int(counts["before"].replace(",", "")) > 0
    assert counts["before"] == counts["after"]
    assert "articles per instruction 1.000" in done.stdout
