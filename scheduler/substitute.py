"""`${VAR}` and `${VAR:-default}` substitution in the loaded YAML, remembering where each value came from.

`scheduler.config` substitutes after YAML parsing (a secret never needs quoting) and then needs to know,
per key path: which variables were named, which were unset or set but empty (a target using one is
disabled, not an error; any other key gets a problem naming the variable), and which strings hold a
value from the environment, so that their masked form (`***` in place of each value) can be shown and
stored instead (a source's `display_url`) and every such value can be masked in logs and errors.

Settings read: the variables named in the file (the environment is passed in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scheduler.redact import MASK, worth_redacting

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[Any, ...]


@dataclass
class Substitution:
    """The substituted data and what is known about each substituted string, by key path."""

    data: Any = None
    named: dict[Path_, list[str]] = field(default_factory=dict)  # path -> variables it names
    unset: dict[Path_, list[str]] = field(default_factory=dict)  # path -> variables not set (no default)
    empty: dict[Path_, list[str]] = field(default_factory=dict)  # path -> variables set but empty
    masked: dict[Path_, str] = field(default_factory=dict)  # path -> the string with env values as ***
    values: dict[Path_, list[str]] = field(default_factory=dict)  # path -> the env values in it

    def secrets(self, under: Path_ = ()) -> list[str]:
        """Every non-empty value taken from the environment at or below `under`."""
        return [v for path, vs in self.values.items() if path[: len(under)] == under for v in vs if v]

    def shown_secrets(self) -> list[str]:
        """The values worth masking in messages (see `scheduler.redact.worth_redacting`)."""
        return sorted({v for v in self.secrets() if worth_redacting(v)})

    def lacking(self, under: Path_) -> dict[str, str]:
        """Variables at or below `under` that are unset or empty -> 'not set' / 'set but empty'."""
        out: dict[str, str] = {}
        for path, names in self.unset.items():
            if path[: len(under)] == under:
                out.update(dict.fromkeys(names, "not set in the environment"))
        for path, names in self.empty.items():
            if path[: len(under)] == under:
                out.update(dict.fromkeys(names, "set but empty"))
        return out

    def note(self, loc: Path_) -> str:
        """A suffix for a problem at `loc` naming the variables its value came from, never the value."""
        for probe in (loc, loc[:-1]):
            names = self.named.get(probe)
            if not names:
                continue
            parts = []
            for name in dict.fromkeys(names):
                if name in self.unset.get(probe, ()):
                    parts.append(f"${{{name}}} is not set")
                elif name in self.empty.get(probe, ()):
                    parts.append(f"${{{name}}} is set but empty")
                else:
                    parts.append(f"from ${{{name}}}")
            return f" (value {'; '.join(parts)})"
        return ""


def substitute(raw: Any, environ: Mapping[str, str]) -> Substitution:
    """Replace `${VAR}` in every string of `raw` from `environ` (the input is not changed)."""
    result = Substitution()
    result.data = _walk(raw, environ, result, ())
    return result


def _walk(value: Any, environ: Mapping[str, str], result: Substitution, path: Path_) -> Any:
    if isinstance(value, str):
        if "${" not in value:
            return value
        taken: list[str] = []

        def real(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            result.named.setdefault(path, []).append(name)
            if name in environ:
                if environ[name] == "":
                    result.empty.setdefault(path, []).append(name)
                taken.append(environ[name])
                return environ[name]
            if default is not None:
                return default
            result.unset.setdefault(path, []).append(name)
            return ""

        def shown(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if environ.get(name):
                return MASK
            return default or "" if name not in environ else ""

        out = ENV_REF.sub(real, value)
        if taken:
            result.values[path] = taken
            result.masked[path] = ENV_REF.sub(shown, value)
        return out
    if isinstance(value, dict):
        return {k: _walk(v, environ, result, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, environ, result, (*path, i)) for i, v in enumerate(value)]
    return value
