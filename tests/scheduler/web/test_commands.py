"""`newswatch web` and `newswatch run` with `web.port` serve the workbench; an exposed one is refused."""

from __future__ import annotations

from pathlib import Path

import requests
from click.testing import CliRunner

from scheduler.cli import main
from tests.e2e_site import RunningDaemon, free_port, target_env, write_config
from tests.loopback import LoopbackHTTPServer
from tests.scheduler.web.workbench import fill
from tests.waiting import wait_until


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _env() -> dict[str, str]:
    return target_env("http://127.0.0.1:9/none", "http://127.0.0.1:9/none", "127.0.0.1", 9)


def test_newswatch_web_serves_the_stories_of_the_configured_database(tmp_path: Path, site: LoopbackHTTPServer):
    config = write_config(tmp_path / "config.yaml", site.url("/feed.xml"))
    fill(tmp_path / "newswatch.db").conn.close()
    port = free_port()
    with RunningDaemon(config, tmp_path, _env(), ("--port", str(port)), command="web") as web:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/stories"), "the workbench answering")
        page = requests.get(f"{base}/stories", timeout=30).text
        assert "Coast guard fires water cannon near Second Thomas Shoal" in page
        web.stop()


def test_newswatch_run_serves_the_workbench_when_web_port_is_set(tmp_path: Path, site: LoopbackHTTPServer):
    port = free_port()
    config = write_config(tmp_path / "config.yaml", site.url("/feed.xml"), extra=f"web:\n  port: {port}\n")
    with RunningDaemon(config, tmp_path, _env(), ("--stop-timeout", "10")) as daemon:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/stories"), "the daemon's workbench answering")
        err = daemon.stop()
    assert "workbench listening on http://" in err and f":{port}" in err


def test_a_workbench_open_to_the_network_without_a_password_is_refused(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  host: 0.0.0.0\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["web", "--config", str(config)])
    assert result.exit_code == 2
    assert "web.host '0.0.0.0' is reachable from other machines" in result.output
    config.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["web", "--config", str(config), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "needs web.password" in result.output
