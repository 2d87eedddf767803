"""Time rules of alert shaping: digest slots, quiet hours and the values that describe them.

Pure functions of a `now` (an aware datetime; naive ones are taken as UTC), so the daemon and the
tests drive the clock the same way. Local times are resolved with `zoneinfo` (IANA names such as
``Asia/Manila``); a daily time that does not exist on a day clocks spring forward falls in the hour
after the jump. docs/alerts.md describes the behaviour for users.

Settings read: the `DigestSchedule` of a route and the `QuietHours` of a target (passed in).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.delivery.models import DigestSchedule, QuietHours, RouteSpec

logger = logging.getLogger(__name__)

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(value: object) -> time:
    """A local time of day written ``HH:MM`` (24-hour clock), e.g. ``"08:00"`` or ``"22:30"``.

    Raises:
        ValueError: anything else (the message shows the expected form).
    """
    found = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if not found:
        raise ValueError(f"{value!r} is not a time of day; write it as \"HH:MM\" on a 24-hour clock, e.g. \"08:00\"")
    return time(int(found.group(1)), int(found.group(2)))


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The time zone with IANA name `name` (``UTC``, ``Asia/Tokyo``, ``Europe/Berlin``).

    Raises:
        ValueError: no such zone (the message gives examples).
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as UTC, Asia/Tokyo or "
                         "Europe/Berlin") from None


def check_timezone(name: object) -> str:
    """`name` if it is a known IANA time zone name.

    Raises:
        ValueError: not a string, or no such zone (the message gives examples).
    """
    if not isinstance(name, str):
        raise ValueError(f"a time zone is an IANA name such as Asia/Tokyo, got {name!r}")
    zone(name)
    return name


def as_route(route: str | RouteSpec) -> RouteSpec:
    """A route given as a plain target name or a RouteSpec, as a RouteSpec (plain names are immediate)."""
    return RouteSpec(route) if isinstance(route, str) else route


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """`clock` on local `day`, in UTC (a time skipped by a DST jump lands after the jump)."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def next_local_time(clock: time, timezone: str, now: datetime) -> datetime:
    """The first moment strictly after `now` at which local time in `timezone` reads `clock` (UTC)."""
    now = _aware(now)
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    for offset in range(3):
        candidate = _at(today + timedelta(days=offset), clock, tz)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a local time recurs within two days")  # pragma: no cover


def next_digest_time(schedule: DigestSchedule, now: datetime) -> datetime:
    """When the next digest of `schedule` is due after `now` (UTC).

    Hourly digests are due at the next full local hour, daily ones at the next local `at`.
    """
    now = _aware(now)
    if schedule.every == "daily":
        return next_local_time(schedule.at or time(8, 0), schedule.timezone, now)
    local = now.astimezone(zone(schedule.timezone))
    hour = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return hour + timedelta(hours=1)


def in_quiet_hours(quiet: QuietHours, now: datetime) -> bool:
    """Whether `now` falls inside the quiet hours (start inclusive, end exclusive)."""
    local = _aware(now).astimezone(zone(quiet.timezone)).time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def quiet_hours_end(quiet: QuietHours, now: datetime) -> datetime:
    """The next end of the quiet hours after `now` (UTC): when held alerts go out."""
    return next_local_time(quiet.end, quiet.timezone, now)


def breaks_through(quiet: QuietHours, score: float) -> bool:
    """Whether an alert of `score` goes out at once during the quiet hours."""
    return quiet.min_score is not None and score >= quiet.min_score


def describe_schedule(schedule: DigestSchedule) -> str:
    """``daily at 08:00 Asia/Manila`` / ``hourly (UTC)``, for logs and messages."""
    if schedule.every == "daily":
        return f"daily at {(schedule.at or time(8, 0)).strftime('%H:%M')} {schedule.timezone}"
    return f"hourly ({schedule.timezone})"
