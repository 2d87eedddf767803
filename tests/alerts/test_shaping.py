"""Time rules of shaping: digest slots, quiet hours, local times across time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from alerts.delivery.models import DigestSchedule, QuietHours, RouteSpec
from alerts.delivery.shaping import (
    as_route,
    breaks_through,
    check_timezone,
    in_quiet_hours,
    next_digest_time,
    parse_clock,
    quiet_hours_end,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("now", "due"), [
    (utc(2024, 6, 1, 8, 0), utc(2024, 6, 2, 0, 0)),  # 16:00 in Manila: tomorrow 08:00 Manila
    (utc(2024, 6, 1, 23, 59), utc(2024, 6, 2, 0, 0)),
    (utc(2024, 6, 2, 0, 0), utc(2024, 6, 3, 0, 0)),  # exactly at the slot: the next one
])
def test_daily_digest_is_due_at_the_next_local_time(now, due):
    schedule = DigestSchedule("daily", time(8, 0), "Asia/Manila")
    assert next_digest_time(schedule, now) == due


def test_hourly_digest_is_due_on_the_next_local_hour():
    assert next_digest_time(DigestSchedule("hourly"), utc(2024, 6, 1, 8, 0)) == utc(2024, 6, 1, 9, 0)
    assert next_digest_time(DigestSchedule("hourly"), utc(2024, 6, 1, 8, 59, 59)) == utc(2024, 6, 1, 9, 0)
    # India is UTC+05:30: its hours start at half past UTC hours.
    kolkata = DigestSchedule("hourly", timezone="Asia/Kolkata")
    assert next_digest_time(kolkata, utc(2024, 6, 1, 8, 10)) == utc(2024, 6, 1, 8, 30)


def test_daily_digest_follows_daylight_saving_time():
    schedule = DigestSchedule("daily", time(8, 0), "Europe/Berlin")
    assert next_digest_time(schedule, utc(2024, 3, 30, 12, 0)) == utc(2024, 3, 31, 6, 0)  # CEST from today
    assert next_digest_time(schedule, utc(2024, 3, 29, 12, 0)) == utc(2024, 3, 30, 7, 0)  # still CET
    # 02:30 does not exist on 31 March in Berlin: the digest goes out just after the jump.
    gap = DigestSchedule("daily", time(2, 30), "Europe/Berlin")
    assert next_digest_time(gap, utc(2024, 3, 30, 12, 0)) == utc(2024, 3, 31, 1, 30)


def test_quiet_hours_wrapping_midnight():
    quiet = QuietHours(time(22, 0), time(7, 0), "Asia/Tokyo", min_score=8)  # 13:00–22:00 UTC
    assert not in_quiet_hours(quiet, utc(2024, 6, 1, 12, 59))
    assert in_quiet_hours(quiet, utc(2024, 6, 1, 13, 0))
    assert in_quiet_hours(quiet, utc(2024, 6, 1, 21, 59))
    assert not in_quiet_hours(quiet, utc(2024, 6, 1, 22, 0))
    assert quiet_hours_end(quiet, utc(2024, 6, 1, 14, 0)) == utc(2024, 6, 1, 22, 0)
    assert breaks_through(quiet, 8) and not breaks_through(quiet, 7.9)
    assert not breaks_through(QuietHours(time(22, 0), time(7, 0)), 100)  # no min_score: nothing does


def test_quiet_hours_within_one_day():
    quiet = QuietHours(time(12, 0), time(13, 30))
    assert in_quiet_hours(quiet, utc(2024, 6, 1, 12, 0)) and in_quiet_hours(quiet, utc(2024, 6, 1, 13, 29))
    assert not in_quiet_hours(quiet, utc(2024, 6, 1, 13, 30)) and not in_quiet_hours(quiet, utc(2024, 6, 1, 11, 0))


@pytest.mark.parametrize("bad", ["8", "24:00", "08:60", "8am", 800, None, "08:00:00"])
def test_parse_clock_rejects_what_is_not_hh_mm(bad):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock(bad)


def test_parse_clock_and_time_zones():
    assert parse_clock("08:00") == time(8, 0) and parse_clock("7:05") == time(7, 5)
    assert check_timezone("Asia/Manila") == "Asia/Manila"
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        check_timezone("Mars/Olympus")


def test_plain_target_names_are_immediate_routes():
    assert as_route("slack") == RouteSpec("slack")
    route = RouteSpec("mail", DigestSchedule("hourly"), 2)
    assert as_route(route) is route
