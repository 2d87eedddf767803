"""Durations in config.yaml: ``90``, ``30s``, ``5m``, ``2h``, ``1d``, as seconds.

`Duration` is the pydantic type of every interval key (``every``, ``per``, ``retry_base``...): it
accepts a number of seconds or a string with a unit, and its JSON Schema says so, so that an editor
checking the file against ``newswatch config schema`` accepts ``every: 5m``.

Settings read: none (the keys that use it are declared in `scheduler.config.models`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_SCHEMA = {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                     {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(s|sec|m|min|h|d)?\s*$"}],
           "description": "seconds, or a number with a unit: 30s, 5m, 1h, 1d"}


def parse_duration(value: str | int | float) -> int:
    """Seconds in a duration such as `90`, `30s`, `5m`, `2h` or `1d`.

    Raises:
        ValueError: the value is not a positive duration.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 5m, 1h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 5m, 1h or 1d")
    else:
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration; write it like 30s, 5m, 1h or 1d")
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return int(seconds)


def _duration_or_zero(value: str | int | float) -> int:
    return 0 if value in (0, "0") else parse_duration(value)


Duration = Annotated[int, BeforeValidator(parse_duration), WithJsonSchema(_SCHEMA)]
"""A positive duration, in seconds once validated."""

DurationOrZero = Annotated[int, BeforeValidator(_duration_or_zero),
                           WithJsonSchema({**_SCHEMA, "anyOf": [{"type": "number", "minimum": 0},
                                                                _SCHEMA["anyOf"][1]]})]
"""A duration that may also be 0 (off)."""
