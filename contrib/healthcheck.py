"""Container health check: healthy while the daemon's heartbeat is fresh.

The daemon stamps a heartbeat in the database every few seconds (`newswatch status` shows it); this
script runs `newswatch status --json` (with the Python running it) and exits 0 when the heartbeat is
younger than MAX_AGE seconds (argument 1, default 120), 1 otherwise (no daemon, a stale heartbeat, or
status failing). It works whether or not the metrics server (`/healthz`) is enabled.

Usage (Dockerfile HEALTHCHECK): python /usr/local/lib/newswatch-healthcheck.py [MAX_AGE] [--config PATH]
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime


def main(argv: list[str]) -> int:
    max_age = float(argv[0]) if argv and not argv[0].startswith("-") else 120.0
    extra = argv[1:] if argv and not argv[0].startswith("-") else argv
    done = subprocess.run([sys.executable, "-m", "scheduler.cli", "status", "--json", *extra],
                          capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        print(f"unhealthy: newswatch status failed: {done.stderr.strip()[-300:]}")
        return 1
    daemon = json.loads(done.stdout).get("daemon")
    if not daemon:
        print("unhealthy: no daemon is running (no heartbeat)")
        return 1
    beat = datetime.fromisoformat(daemon["heartbeat"])
    age = (datetime.now(UTC) - (beat if beat.tzinfo else beat.replace(tzinfo=UTC))).total_seconds()
    if age > max_age:
        print(f"unhealthy: last heartbeat {age:.0f}s ago (more than {max_age:.0f}s)")
        return 1
    print(f"healthy: {daemon['process']}, heartbeat {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
