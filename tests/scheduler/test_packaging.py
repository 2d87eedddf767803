"""Deployment files: the systemd unit is hardened and creates its folders, the container image has a
health check and pinned packages, and secrets stay out of the build context."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler import open_store
from scheduler.state import publish_jobs

ROOT = Path(__file__).resolve().parent.parent.parent
UNIT = ROOT / "contrib" / "newswatch.service"


def _unit_settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_unit_creates_its_state_and_config_folders() -> None:
    unit = _unit_settings()
    assert unit["StateDirectory"] == ["newswatch"], "systemd creates /var/lib/newswatch, owned by the user"
    assert unit["ConfigurationDirectory"] == ["newswatch"]
    assert unit["WorkingDirectory"] == ["/var/lib/newswatch"]
    steps = UNIT.read_text(encoding="utf-8")
    assert "install -d" in steps and "/etc/newswatch" in steps, "the install steps create /etc/newswatch"


def test_systemd_rates_the_unit_ok() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)], capture_output=True,
                          text=True, timeout=120, check=False)
    if "--offline" in done.stderr and "unrecognized" in done.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd 250 or later has)")
    found = re.search(r"Overall exposure level for newswatch.service: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) < 3.0, done.stdout


def test_dockerfile_has_a_healthcheck_and_pins_apt_packages() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^HEALTHCHECK .*CMD", text, flags=re.M | re.S)
    installs = re.findall(r"apt-get install ([^&\n\\]+)", text)
    assert installs
    for line in installs:
        packages = [word for word in line.split() if not word.startswith("-")]
        assert packages and all("=" in p for p in packages), f"unpinned apt packages: {line}"
    assert re.search(r"^FROM python:3\.\d+-slim-\w+", text, flags=re.M), "the Debian release is pinned"


@pytest.mark.parametrize("path", [".env", "contrib/.env", ".env.production", "contrib/prod.env"])
def test_dockerignore_keeps_env_files_out_of_the_image(path: str) -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if p.strip() and not p.startswith("#")]
    assert any(fnmatch.fnmatch(path, p.removeprefix("**/")) or fnmatch.fnmatch(path, p) for p in patterns), path


def test_container_healthcheck_follows_the_daemon_heartbeat(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: nw.db\n", encoding="utf-8")
    check = [sys.executable, str(ROOT / "contrib" / "healthcheck.py"), "120", "--config", str(config)]

    none = subprocess.run(check, capture_output=True, text=True, timeout=120, check=False)
    assert none.returncode == 1 and "no daemon" in none.stdout, none.stdout + none.stderr

    db = open_store(tmp_path / "nw.db")
    publish_jobs(db, [], started_at=datetime.now(UTC))
    db.close()
    fresh = subprocess.run(check, capture_output=True, text=True, timeout=120, check=False)
    assert fresh.returncode == 0 and "healthy" in fresh.stdout, fresh.stdout + fresh.stderr

    db = open_store(tmp_path / "nw.db")
    stale = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    db.execute("UPDATE daemon_jobs SET updated_at = ?", [stale])
    db.conn.commit()
    db.close()
    old = subprocess.run(check, capture_output=True, text=True, timeout=120, check=False)
    assert old.returncode == 1 and "last heartbeat" in old.stdout, old.stdout + old.stderr
