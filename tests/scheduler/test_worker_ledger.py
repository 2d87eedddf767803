"""The brain's batch ledger: leases expire once, a batch finishes once (issue 15)."""

from __future__ import annotations

from pathlib import Path

from scheduler.schema import open_store
from scheduler.workers import ledger


def test_a_lease_expires_once_and_a_late_result_is_still_stored_once(tmp_path: Path) -> None:
    db = open_store(tmp_path / "brain.db")
    ledger.open_batch(db, "b1", "w1", ["a.example"], ["feed-a"], lease_seconds=10, now=1000.0)
    ledger.open_batch(db, "b2", "w2", ["b.example"], ["feed-b"], lease_seconds=100, now=1000.0)
    assert ledger.expire_batches(db, now=1005.0) == []
    assert [b.sources for b in ledger.expire_batches(db, now=1011.0)] == [("feed-a",)]
    assert ledger.expire_batches(db, now=1012.0) == []
    assert [b.id for b in ledger.open_batches(db)] == ["b2"]
    assert ledger.finish_batch(db, "b1", 3, 3) == "late"
    assert ledger.finish_batch(db, "b1", 3, 0) is None  # handed back twice: the repeat is recognised
    assert ledger.finish_batch(db, "b2", 1, 1) == "done"
    assert ledger.batch_state(db, "nope") is None
