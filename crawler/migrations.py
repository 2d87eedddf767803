"""Numbered schema migrations, applied once when the store is opened, recorded in `schema_versions`.

Each package that owns tables (`crawler`, `alerts`, `scheduler`) declares a `Schema`: its name and
its migrations, numbered 1, 2, 3… Migration 1 of each package is the full schema of the release
that introduced versions, written so that it also accepts a file made by older code (which had no
version table: tables are created only when missing, columns added by hand-written ``ALTER TABLE``
back then are added when missing). Later changes are new numbered migrations, never edits of old ones.

Why the runner lives here, in the lowest layer: imports flow ``scheduler → alerts → crawler``, so
`crawler` cannot know the tables of the packages above it. It offers the mechanism
(`apply_migrations`) and applies its own schema in `crawler.store.open_store()`; each higher
package's `open_store()` passes its own `Schema` down (alerts after crawler, scheduler after alerts),
so the order is fixed by the layering and nothing registers itself at import time.

`schema_versions(package, version, applied_at)` has one row per package. Opening a file that is
up to date only reads that table (no write lock, nothing applied). Otherwise the pending migrations
and the new version are written in ONE ``BEGIN IMMEDIATE`` transaction, after reading the version
again inside it: two processes opening a fresh or old file at once (the daemon and `newswatch
status`) apply each migration once, and a failure leaves the file as it was. A file whose recorded
version is above what this code knows (written by a newer newswatch) is refused with
`SchemaTooNewError`. Settings read: none.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from crawler.errors import SchemaTooNewError
from crawler.timeutil import utc_now

logger = logging.getLogger(__name__)

VERSIONS_TABLE = "schema_versions"
_CREATE_VERSIONS = (f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (package TEXT PRIMARY KEY, "
                    "version INTEGER NOT NULL, applied_at TEXT NOT NULL)")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered step: `apply(conn)` runs plain SQL inside the runner's transaction (never commits)."""

    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


@dataclass(frozen=True, slots=True)
class Schema:
    """A package's tables: its name (the key in `schema_versions`) and its migrations, 1, 2, 3… in order."""

    package: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        numbers = [m.version for m in self.migrations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.package} migrations must be numbered 1, 2, 3… in order, not {numbers}")

    @property
    def latest(self) -> int:
        """The version a file has once every migration ran."""
        return len(self.migrations)


def db_file(db: sqlite_utils.Database) -> str:
    """The main database's file name, for messages (``:memory:`` for an in-memory database)."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return str(row[2]) or ":memory:"
    return ":memory:"  # pragma: no cover - SQLite always lists "main"


def recorded_version(conn: sqlite3.Connection, package: str) -> int:
    """The version `schema_versions` records for `package` (0: none recorded, or no table yet)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [VERSIONS_TABLE])
    if exists.fetchone() is None:
        return 0
    row = conn.execute(f"SELECT version FROM {VERSIONS_TABLE} WHERE package = ?", [package]).fetchone()
    return int(row[0]) if row else 0


def _check(db: sqlite_utils.Database, schema: Schema, found: int) -> None:
    if found > schema.latest:
        raise SchemaTooNewError(db_file(db), schema.package, found, schema.latest)


def apply_migrations(db: sqlite_utils.Database, schema: Schema) -> tuple[int, ...]:
    """Bring `schema`'s tables in `db` up to date: run the migrations above the recorded version.

    Args:
        db: an open store (`crawler.store.connect()`), with no transaction of the caller's open.
        schema: the package's name and migrations.

    Returns:
        The version numbers applied now, in order (empty when the file was up to date).

    Raises:
        SchemaTooNewError: the file records a version above `schema.latest`.
        sqlite3.DatabaseError: a migration failed (the transaction is rolled back: nothing changed).
    """
    conn = db.conn
    found = recorded_version(conn, schema.package)
    _check(db, schema, found)
    if found == schema.latest:
        return ()
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_CREATE_VERSIONS)
        found = recorded_version(conn, schema.package)  # another process may have migrated meanwhile
        _check(db, schema, found)
        pending = [m for m in schema.migrations if m.version > found]
        for migration in pending:
            migration.apply(conn)
        if pending:
            conn.execute(f"INSERT INTO {VERSIONS_TABLE} (package, version, applied_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (package) DO UPDATE SET version = excluded.version, "
                         "applied_at = excluded.applied_at", [schema.package, schema.latest, utc_now()])
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    for migration in pending:
        logger.info("database %s: %s schema migration %d applied (%s)", db_file(db), schema.package,
                    migration.version, migration.description)
    return tuple(m.version for m in pending)


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run each statement of `script` with `conn.execute` (``executescript`` would commit the runner's
    transaction first); statements may contain ``;`` inside ``BEGIN … END`` of a trigger."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration script: {statement.strip()[:80]}")


def column_names(conn: sqlite3.Connection, table: str) -> set[str]:
    """The columns `table` has now (empty when it does not exist)."""
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
