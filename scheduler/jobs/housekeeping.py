"""The prune and compact jobs: `scheduler.maintenance.prune` on the daemon's schedule.

They run in the maintenance thread of their own: a VACUUM of a big file can take minutes, and
matching, delivery, the heartbeat and the health check never queue behind it in Python (SQLite
still makes their writes wait for the VACUUM's lock; see `scheduler.jobs.runtime`).

Settings read: `retention.prune_every_seconds`, `retention.vacuum_every_seconds` (by the Service,
for the schedule) and what `prune` reads.
"""

from __future__ import annotations

import logging

from scheduler.jobs.runtime import Runtime
from scheduler.maintenance import prune

logger = logging.getLogger(__name__)


async def housekeeping(runtime: Runtime, vacuum: bool) -> None:
    """Prune old article bodies and seen URLs; compact the file when `vacuum`. Never raises."""
    try:
        await runtime.in_thread(runtime.maintenance_thread, prune, runtime.config, vacuum=vacuum)
    except Exception:
        logger.exception("pruning failed; it runs again at its next interval")
