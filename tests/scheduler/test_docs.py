"""The README stays true: its quick start is what CI runs, and every command and setting is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler import CrawlOptions
from scheduler.cli import main
from scheduler.config import settings_reference

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found += _commands(command, full + " ")
        else:
            found.append((full, command))
    return found


def test_quick_start_comes_first_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README[README.index("## Quick start"):]
    blocks = re.findall(r"```sh\n(.*?)\n```", quick, flags=re.S)
    run_command, test_command = blocks[0].strip(), blocks[1].strip()
    assert README.index("## Quick start") < README.index("## How it works")
    assert run_command.endswith("newswatch run")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == test_command


@pytest.mark.parametrize(("name", "command"), _commands(main))
def test_every_command_is_in_the_readme_and_its_help_has_an_example(name: str, command: click.Command) -> None:
    assert f"newswatch {name}" in README
    args = [*name.split(), "--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0
    assert "Example" in result.output


@pytest.mark.parametrize(("key", "default", "help_text"), settings_reference())
def test_every_setting_is_documented(key: str, default: str, help_text: str) -> None:
    assert help_text, f"setting {key} has no help text"
    leaf = key.split(".")[-1].removesuffix("[]")
    assert f"`{leaf}`" in README, f"setting {key} is not in the README's configuration reference"


@pytest.mark.parametrize("option", [f.name for f in dataclasses.fields(CrawlOptions)])
def test_every_crawl_option_is_documented(option: str) -> None:
    assert f"| `{option}` |" in README, f"crawl option {option} is not in the README's table"


def test_readme_stands_alone_without_the_team_notes() -> None:
    assert "../shared" not in README, "users do not have ../shared: move the fact into the README"


def _exported_metrics() -> list[str]:
    from prometheus_client.metrics import MetricWrapperBase

    from scheduler.metrics import Metrics

    found = []
    for metric in vars(Metrics()).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        (family,) = metric.describe()
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = ",".join(metric._labelnames)
        found.append(f"{name}{{{labels}}}" if labels else name)
    return sorted(found)


@pytest.mark.parametrize("metric", _exported_metrics())
def test_every_metric_is_listed_with_its_labels(metric: str) -> None:
    assert f"`{metric}`" in README, f"metric {metric} is not in the README's Operations list"


def test_only_extract_goes_without_config() -> None:
    without = sorted(name for name, command in _commands(main)
                     if not any(p.name == "config_path" for p in command.params))
    assert without == ["extract"]
    assert "every command but `extract`" in README
