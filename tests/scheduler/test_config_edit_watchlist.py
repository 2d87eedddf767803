"""`replace_watchlist`: one watchlist replaced in config.yaml, validated, every other line kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scheduler.config_edit import replace_watchlist, watchlist_text
from scheduler.errors import ConfigError
from tests.scheduler.web.labkit import EDITED_RULE, edited_maritime, write_config

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_shipped_config_round_trips_byte_for_byte(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    original = config.read_text(encoding="utf-8")
    for name in ("maritime-disputes", "arms-deals"):
        text = watchlist_text(config, name)
        assert text.startswith(f"name: {name}\n")
        replace_watchlist(config, name, text, environ={})
    assert config.read_text(encoding="utf-8") == original


def test_an_edit_replaces_only_its_watchlist_and_keeps_comments(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml")
    before = config.read_text(encoding="utf-8").splitlines()
    saved = replace_watchlist(config, "maritime", edited_maritime(config))
    after = config.read_text(encoding="utf-8").splitlines()
    maritime = next(w for w in saved.watchlists if w.name == "maritime")
    assert len(maritime.veto) == 1
    assert EDITED_RULE in after
    assert "    none: [swimmers]   # lifeguard stories are not incidents" in after
    assert after[:4] == before[:4]  # the header comment and the targets, untouched
    assert "      - name: places   # the places we watch" in after
    assert after[after.index("  # Weapons trade."):] == before[before.index("  # Weapons trade."):]


def test_an_invalid_edit_is_refused_and_the_file_left_alone(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml")
    original = config.read_text(encoding="utf-8")
    bad = watchlist_text(config, "maritime").replace("threshold: 1", "threshold: -2")
    with pytest.raises(ConfigError) as caught:
        replace_watchlist(config, "maritime", bad)
    assert "threshold must be greater than 0" in str(caught.value)
    assert str(config) in str(caught.value) and ".config-edit-" not in str(caught.value)
    with pytest.raises(ConfigError, match="no watchlist named 'nope'"):
        replace_watchlist(config, "nope", bad)
    with pytest.raises(ConfigError, match="not valid YAML"):
        replace_watchlist(config, "maritime", "name: [unclosed\n")
    assert config.read_text(encoding="utf-8") == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no temporary file left behind
