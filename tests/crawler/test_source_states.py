"""Source states: one word per source, most urgent first, judged against the source's own rhythm."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from crawler.source_states import SourceFacts, should_disable, source_state, state_detail

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
HEALTHY = SourceFacts(last_attempt=NOW - HOUR / 6, last_success=NOW - HOUR / 6, last_status=200,
                      consecutive_failures=0, failing_since=None, error_class=None, last_entries=20,
                      last_new_article=NOW - HOUR, usual_gap_seconds=1800)


def test_each_state() -> None:
    assert source_state(HEALTHY, NOW) == "ok"
    assert source_state(replace(HEALTHY, last_attempt=None, last_success=None), NOW) == "new"
    assert source_state(replace(HEALTHY, last_status=304), NOW) == "not modified"
    assert source_state(replace(HEALTHY, last_entries=0), NOW) == "empty"
    # A 304 lists nothing anew: the count of the last read stands, and empty is the more urgent word.
    assert source_state(replace(HEALTHY, last_entries=0, last_status=304), NOW) == "empty"
    assert source_state(replace(HEALTHY, last_entries=None), NOW) == "ok"  # not counted yet is not empty
    failing = replace(HEALTHY, consecutive_failures=3, failing_since=NOW - HOUR, error_class="timeout")
    assert source_state(failing, NOW) == "failing"
    assert source_state(replace(failing, error_class="blocked"), NOW) == "blocked"
    assert source_state(replace(failing, disabled_since=NOW), NOW) == "disabled"


def test_quiet_is_measured_against_the_source_s_own_rhythm() -> None:
    busy = replace(HEALTHY, usual_gap_seconds=600, last_new_article=NOW - 7 * HOUR)
    assert source_state(busy, NOW) == "quiet"  # 10-minute rhythm, nothing for 7 hours
    weekly = replace(HEALTHY, usual_gap_seconds=7 * 86400, last_new_article=NOW - 3 * 24 * HOUR)
    assert source_state(weekly, NOW) == "ok"  # a weekly outlet silent for three days is normal
    assert source_state(replace(busy, last_new_article=NOW - 5 * HOUR), NOW) == "ok"  # floor: 6 hours
    assert source_state(replace(busy, usual_gap_seconds=None), NOW) == "ok"  # no rhythm known yet


def test_a_304_does_not_hide_a_failure() -> None:
    broken = replace(HEALTHY, last_status=304, consecutive_failures=2, failing_since=NOW - HOUR,
                     error_class="broken")
    assert source_state(broken, NOW) == "failing"


def test_disable_after_a_long_failure_only() -> None:
    failing = replace(HEALTHY, consecutive_failures=9, failing_since=NOW - 25 * HOUR, error_class="dns")
    assert should_disable(failing, NOW, 24 * 3600)
    assert not should_disable(failing, NOW, None)  # switched off by default
    assert not should_disable(replace(failing, failing_since=NOW - HOUR), NOW, 24 * 3600)
    assert not should_disable(HEALTHY, NOW, 24 * 3600)
    assert not should_disable(replace(failing, disabled_since=NOW), NOW, 24 * 3600)


def test_only_empty_needs_words_and_they_name_the_index() -> None:
    assert state_detail("empty", "feed") == "its feed listed no entries when last read"
    assert state_detail("empty", "listing") == "its section page listed no entries when last read"
    assert [state_detail(state, "feed") for state in ("ok", "not modified", "quiet", "failing")] == [None] * 4
