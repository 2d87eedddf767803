"""Container health check: healthy while the daemon's heartbeat is fresh.

The daemon stamps a heartbeat in the database every few seconds (`newswatch status` shows it); this
script runs `newswatch status --json` (with the Python running it) and exits 0 when the heartbeat is
younger than MAX_AGE seconds (argument 1, default 120) and its process is alive, 1 otherwise (no
daemon, a stale heartbeat, a dead pid, a database problem such as a read-only file, or status failing).
It works whether or not the metrics server (`/healthz`) is enabled.

Usage (Dockerfile HEALTHCHECK): python /usr/local/lib/newswatch-healthcheck.py [MAX_AGE] [--config PATH]
"""

from __future__ import annotations

import json
import subprocess
import sys


def main(argv: list[str]) -> int:
    max_age = float(argv[0]) if argv and not argv[0].startswith("-") else 120.0
    extra = argv[1:] if argv and not argv[0].startswith("-") else argv
    done = subprocess.run([sys.executable, "-m", "scheduler", "status", "--json", *extra],
                          capture_output=True, text=True, timeout=60, check=False)
    if "no database yet" in done.stderr:
        print("unhealthy: no daemon has run here yet (no database)")
        return 1
    try:
        report = json.loads(done.stdout)
    except ValueError:  # status could not report at all
        print(f"unhealthy: newswatch status failed: {done.stderr.strip()[-300:]}")
        return 1
    liveness = report.get("daemon_liveness") or {}
    age = liveness.get("heartbeat_age")
    if age is None:
        print("unhealthy: no daemon is running (no heartbeat)")
        return 1
    if not liveness.get("running") or age > max_age:
        print(f"unhealthy: last heartbeat {age:.0f}s ago: {liveness.get('why', '')}")
        return 1
    for problem in report.get("problems") or []:
        print(f"unhealthy: {problem}")
        return 1
    print(f"healthy: {report['daemon']['process']}, heartbeat {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
