"""Hostile or broken config files: bounded work, a clear ConfigError, and a daemon that keeps running.

A 564-byte YAML alias bomb took `check-config` past 6 GB; a 300-level rule killed the running daemon on
save (RecursionError). The loader now counts alias expansions, nesting and size while composing.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.config import ConfigError, load_config
from tests.e2e_site import NEWSWATCH, wait_for, write_config
from tests.loopback import LoopbackHTTPServer

ALIAS_BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
sources: *i
"""

GB = 1024**3


def _nested_rule(levels: int) -> str:
    """A watchlist whose only rule nests `levels` all-groups (flow style, one line)."""
    group = "[ramen]"
    for _ in range(levels):
        group = "[{all: " + group + "}]"
    return f"watchlists:\n  - name: deep\n    rules:\n      - name: deep\n        any: {group}\n"


def _cap_memory() -> None:
    # A regression must fail the test, not eat the machine.
    resource.setrlimit(resource.RLIMIT_AS, (GB, GB))


def _cap_daemon_memory() -> None:
    # The same guard for the running daemon, at 2 GB: RLIMIT_AS caps address space, and the daemon reserves
    # about 1 GB of it at rest without using it (numpy and scipy, which datasketch imports for the stories,
    # thread stacks and malloc's per-thread arenas; its resident size is about 200 MB). At 1 GB a new worker
    # thread at shutdown failed now and then ("can't start new thread") with no leak anywhere.
    resource.setrlimit(resource.RLIMIT_AS, (2 * GB, 2 * GB))


def test_check_config_refuses_an_alias_bomb_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(ALIAS_BOMB, encoding="utf-8")
    result = subprocess.run([*NEWSWATCH, "check-config", "--config", str(config)], capture_output=True,
                            text=True, timeout=300, preexec_fn=_cap_memory, check=False)
    assert result.returncode == 2, result.stderr
    assert "aliases" in result.stderr and "200000 values" in result.stderr
    assert f"{config}:" in result.stderr
    assert "Traceback" not in result.stderr


def test_alias_cycles_and_huge_files_are_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sources: &s [*s]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(config, environ={})
    config.write_text("database: x.db\n" + "# padding\n" * 200_000, encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than 1000 kB"):
        load_config(config, environ={})


def test_deep_yaml_nesting_names_the_depth_limit(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(_nested_rule(300), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    assert "nesting deeper than 64 levels" in str(caught.value)
    assert f"{config}:5" in str(caught.value)


def test_deep_rules_name_the_rule_depth_limit(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(_nested_rule(20), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    message = str(caught.value)
    assert "the limit is 10 levels" in message and "watchlists[0].rules[0]" in message


def test_a_300_level_rule_saved_live_is_rejected_and_the_daemon_keeps_running(
    site: LoopbackHTTPServer, tmp_path: Path
) -> None:
    site.add("/a.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
             content_type="application/rss+xml")
    config = write_config(tmp_path / "config.yaml", site.url("/a.xml"), every="1s")
    good = config.read_text(encoding="utf-8")
    process = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config), "--stop-timeout", "10"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_cap_daemon_memory)
    try:
        assert wait_for(lambda: len(site.requests_to("/a.xml")) >= 2)
        deep = good[: good.index("# WATCHLISTS-BEGIN")] + _nested_rule(300)
        config.write_text(deep, encoding="utf-8")
        # The daemon goes on crawling with the last good config well after the rejected edit.
        before = len(site.requests_to("/a.xml"))
        assert wait_for(lambda: len(site.requests_to("/a.xml")) >= before + 4)
        assert process.poll() is None, "the daemon died on a bad edit"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "config reload rejected" in err and "nesting deeper than 64 levels" in err
    assert "RecursionError" not in err


if sys.platform != "linux":  # pragma: no cover - RLIMIT_AS semantics
    pytestmark = pytest.mark.skip("memory caps are checked on Linux")
