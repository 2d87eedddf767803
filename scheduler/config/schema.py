"""What the config file may hold, for people and editors: the settings reference and the JSON Schema.

`settings_reference` lists every key with its default and help text (the README documents each;
tests/scheduler/test_docs.py checks). `config_schema` is the JSON Schema that ``newswatch config
schema`` prints, for an editor's YAML language server. The file is checked *before* ``${VAR}``
substitution there, so every key that is not free text also accepts a ``${VAR}`` or
``${VAR:-default}`` string: ``port: ${SMTP_PORT}`` is valid in the editor as it is for newswatch.

Settings read: none (the models of ``scheduler.config.models``).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from scheduler.config.models import FileModel, SchemaFileModel

_VARIABLE = {"type": "string", "pattern": r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$",
             "description": "a ${VAR} or ${VAR:-default}, replaced from the environment"}
_SCHEMA_ID = "https://newswatch.invalid/config.schema.json"  # names the schema; nothing is fetched from it


def settings_reference() -> list[tuple[str, str, str]]:
    """Every config key with its default and help text: (key, default, help), for docs and tests."""
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def nested_models(annotation: Any) -> tuple[list[type[BaseModel]], bool]:
        """The pydantic models inside `X`, `X | None`, `list[X]` or a union, and whether it is a list."""
        is_list = typing.get_origin(annotation) is list
        found: list[type[BaseModel]] = []
        stack = [annotation]
        while stack:
            candidate = stack.pop(0)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found.append(candidate)
            else:
                stack.extend(typing.get_args(candidate))
        return found, is_list

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            key = f"{prefix}{info.alias or name}"
            if key in seen:  # a key common to every kind of target is listed once
                continue
            seen.add(key)
            default = "" if info.is_required() else repr(info.get_default(call_default_factory=True))
            rows.append((key, default, info.description or ""))
            inner, is_list = nested_models(info.annotation)
            for nested in inner:
                walk(nested, key + ("[]." if is_list else "."))

    walk(FileModel, "")
    return rows


def _allow_variables(node: Any) -> Any:
    """`node` with every typed value (number, boolean, enum, pattern) also accepting a ${VAR} string."""
    if isinstance(node, list):
        return [_allow_variables(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _allow_variables(value) if key not in ("const", "default", "examples") else value
           for key, value in node.items()}
    typed = out.get("type") in ("integer", "number", "boolean") or "enum" in out or "const" in out or (
        out.get("type") == "string" and "pattern" in out)
    if typed:
        return {"anyOf": [out, _VARIABLE]}
    return out


def config_schema(target_names: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of config.yaml as written, ``${VAR}`` values included.

    Args:
        target_names: names of the file's targets, offered as examples (an editor completes them)
            wherever a watchlist or ``operations`` names a target. Not a restriction: a target being
            added is not flagged; ``check-config`` reports a name no target has.

    Returns:
        The schema as a JSON-ready mapping, with titles and descriptions from the models.
    """
    schema = SchemaFileModel.model_json_schema(mode="validation")
    if target_names:
        names = list(dict.fromkeys(target_names))
        defs = schema["$defs"]
        defs["_WatchlistFileModel"]["properties"]["targets"]["items"]["anyOf"][0]["examples"] = names
        defs["RouteModel"]["properties"]["target"]["examples"] = names
        defs["OperationsModel"]["properties"]["targets"]["items"]["examples"] = names
    schema = _allow_variables(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": _SCHEMA_ID, **schema}
