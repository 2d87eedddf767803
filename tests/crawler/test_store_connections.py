"""One reused store connection per worker thread (crawler.connections), as the daemon's jobs use them."""

from __future__ import annotations

import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crawler import ThreadConnections, open_store


def test_each_thread_keeps_its_own_connection_until_close(db_path: Path) -> None:
    opened: list[object] = []

    def opener() -> object:
        db = open_store(db_path)
        opened.append(db)
        return db

    connections = ThreadConnections(opener)  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as other:
        first = [one.submit(connections.get).result() for _ in range(5)]
        second = other.submit(connections.get).result()
    assert all(db is first[0] for db in first) and second is not first[0]
    assert len(opened) == 2  # five jobs on one thread opened one connection
    connections.close()
    for db in (first[0], second):
        with pytest.raises(sqlite3.ProgrammingError):
            db.execute("SELECT 1")  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="closed"):
        connections.get()


def test_a_job_that_leaves_a_transaction_open_does_not_keep_the_write_lock(db_path: Path) -> None:
    connections = ThreadConnections(functools.partial(open_store, db_path))
    with pytest.raises(ZeroDivisionError), connections.use() as db:
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.execute("INSERT INTO seen_urls (url, source, first_seen) VALUES ('u', 's', 't')")
        raise ZeroDivisionError  # a job failing half-way
    other = sqlite3.connect(db_path, timeout=1)
    try:
        other.execute("INSERT INTO seen_urls (url, source, first_seen) VALUES ('v', 's', 't')")
        other.commit()  # would raise "database is locked" if the failed job still held the lock
        assert other.execute("SELECT url FROM seen_urls").fetchall() == [("v",)]  # its write was rolled back
    finally:
        other.close()
        connections.close()
