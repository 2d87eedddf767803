"""One writer per database: an exclusive `flock` on `<database>.lock`, held while a daemon (or a
`crawl --once`) runs.

Two daemons on one database each fetched every article and raced on the outbox. The lock is an
`fcntl.flock` on a file next to the database, taken without waiting: a second `newswatch run` (or a
`crawl --once` while a daemon runs) fails at once, naming the database and the process holding it.
The kernel releases a flock when its process dies, however it dies (SIGKILL, OOM, power cut), so no
stale lock is ever left behind; the lock file itself stays (deleting it would race with a new holder)
and only carries the holder's pid for the message. Settings read: `Config.database` (by the callers).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from crawler.timeutil import utc_now
from scheduler.errors import LockedError, SchedulerError


def lock_path(database: Path) -> Path:
    """The lock file of a database: `<database>.lock` in the same folder."""
    return database.with_name(database.name + ".lock")


class DatabaseLock:
    """An exclusive, non-blocking lock on one database, for the life of this object or process.

    Example:
        with DatabaseLock(config.database, "daemon"):
            ...  # the only newswatch writer of this database
    """

    def __init__(self, database: Path, role: str = "daemon") -> None:
        self.database = Path(database)
        self.role = role
        self.path = lock_path(self.database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now or fail.

        Raises:
            LockedError: another process holds it; the message names the database and that pid.
            SchedulerError: the lock file cannot be made (an unusable `database:` path).
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SchedulerError(
                f"cannot use database {self.database}: its lock file {self.path} cannot be created "
                f"({exc.strerror or exc}); check `database:` in the config (or NEWSWATCH_DATABASE)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            pid = int(holder.split()[0]) if holder[:1].isdigit() else None
            who = f"pid {pid} ({holder})" if pid else "another process"
            raise LockedError(
                f"database {self.database} is in use by another newswatch {who}: one daemon per database. "
                f"Stop that process first (kill -TERM {pid or 'PID'}), or give this one another `database:`.",
                pid,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.role} since {utc_now()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (idempotent; the process ending releases it too)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
