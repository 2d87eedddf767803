"""Where a key stands in config.yaml: maps a key path such as ``("sources", 0, "every")`` to its line.

Every problem the loader reports names the file, the line and the key (``config.yaml:12
sources[0].every: ...``); pydantic and the alerts parsers give key paths as tuples, and this turns
them into that prefix. Settings read: none (it walks the YAML node tree of the file).
"""

from __future__ import annotations

from typing import Any

import yaml

from alerts.errors import dotted


class Locator:
    """Maps a key path such as ('sources', 0, 'every') to the line it stands on in the file."""

    def __init__(self, root: yaml.Node | None, file: str) -> None:
        self.file = file
        self.lines: dict[tuple[Any, ...], int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a complex key (? [a, b]); validation reports it
                key = key_node.value
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                self._walk(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def where(self, path: tuple[Any, ...]) -> str:
        """``file:line key.path`` for `path` (the line of its nearest ancestor that has one)."""
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        key = dotted(path)
        return f"{self.file}:{line} {key}" if line else f"{self.file} {key or '(top level)'}"
