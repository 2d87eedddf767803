"""The installed `newswatch` command reports expected failures as one `Error: …` line, not a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e_site import run_newswatch


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}


@pytest.mark.parametrize("command", ["run", "status", "prune"])
@pytest.mark.parametrize("database", ["a-directory", "/proc/nonexistent/newswatch.db"])
def test_an_unusable_database_path_is_one_error_line_and_exit_code_1(
    command: str, database: str, tmp_path: Path
) -> None:
    (tmp_path / "a-directory").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {database}\nsources: []\n", encoding="utf-8")
    done = run_newswatch([command, "--config", str(config)], _env(), tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1 and "database" in error_lines[0], done.stderr


def test_an_invalid_config_is_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: x.db\nsources: 12\n", encoding="utf-8")
    done = run_newswatch(["run", "--config", str(config)], _env(), tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Error: " in done.stderr
