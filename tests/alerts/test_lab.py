"""The lab's engine on a real store filled by the real pipeline: what an edit changes, and the scores."""

from __future__ import annotations

from pathlib import Path

from alerts import compare_versions
from alerts.store import open_store
from scheduler.config import load_config
from scheduler.config_edit import replace_watchlist
from tests.scheduler.web.labkit import edited_maritime, fill, write_config


def test_an_edit_lists_new_and_dropped_flags_with_evidence_and_scores_against_judgements(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "config.yaml")
    ids = fill(config_path)
    config = load_config(config_path)
    edited = replace_watchlist(config_path, "maritime", edited_maritime(config_path), write=False)
    current = next(w for w in config.watchlists if w.name == "maritime")
    new = next(w for w in edited.watchlists if w.name == "maritime")
    db = open_store(config.database)
    report = compare_versions(db, current, new, edited.gazetteer, days=7)

    newly = {c.item.title: c for c in report.newly_flagged}
    assert set(newly) == {"Navy frigate shadows Chinese ships off Scarborough",
                          "Ferry turns back near Scarborough Shoal"}
    frigate = newly["Navy frigate shadows Chinese ships off Scarborough"]
    assert frigate.item.story_id == ids["frigate"] and frigate.judged is True
    assert [(e.term, e.field) for e in frigate.after.evidence] == [("Scarborough Shoal", "body")]
    assert "Scarborough Shoal on Monday" in frigate.after.evidence[0].sentence
    ferry = newly["Ferry turns back near Scarborough Shoal"]
    assert ferry.item.story_id is None and ferry.judged is None  # no story yet: it would start one

    assert [(c.item.story_id, c.judged) for c in report.no_longer_flagged] == [(ids["beach"], False)]
    assert [e.term for e in report.no_longer_flagged[0].before.evidence] == ["coast guard", "coast guard"]

    assert (report.before.tp, report.before.fp, report.before.fn) == (1, 1, 1)
    assert (report.before.precision, report.before.recall) == (0.5, 0.5)
    assert (report.after.tp, report.after.fp, report.after.fn) == (2, 0, 0)
    assert (report.after.precision, report.after.recall) == (1.0, 1.0)
    assert (report.flagged_before, report.flagged_after) == (2, 3)


def test_an_unchanged_watchlist_changes_nothing(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "config.yaml")
    fill(config_path)
    config = load_config(config_path)
    arms = next(w for w in config.watchlists if w.name == "arms")
    report = compare_versions(open_store(config.database), arms, arms, config.gazetteer, days=7)
    assert report.newly_flagged == () and report.no_longer_flagged == ()
    assert report.flagged_before == report.flagged_after == 1
    assert report.before.judged == 0 and report.before.precision is None
