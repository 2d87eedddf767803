"""The one place that turns moments into the stored ISO 8601 text and back.

Every timestamp newswatch stores (articles, sources, outbox, deliveries, the daemon's heartbeat) is
UTC ISO 8601 at seconds precision, ``2024-06-01T08:00:00+00:00``: such strings sort as text, so SQL
compares them with ``<`` and ``>``. Four packages used to build and read them each with their own
helper; they live here, in the lowest layer, so every package writes the same bytes and reads them
the same way (a naive stored value counts as UTC). Settings read: none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now_utc() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """`moment` as the UTC ISO 8601 string (seconds) that every timestamp column holds.

    Naive datetimes are taken to be UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def utc_now() -> str:
    """The current time as the stored ISO 8601 string: ``iso(now_utc())``."""
    return iso(now_utc())


def iso_ago(delta: timedelta) -> str:
    """The stored ISO 8601 string of the moment `delta` before now (a cutoff for `<` comparisons)."""
    return iso(now_utc() - delta)


def parse_iso(text: str) -> datetime:
    """A stored ISO 8601 string as an aware datetime; a naive value is taken to be UTC.

    Raises:
        ValueError: `text` is not an ISO 8601 date-time.
    """
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
