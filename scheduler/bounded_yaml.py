"""Parse config.yaml with hard limits, so a hostile or broken file cannot exhaust memory or the stack.

PyYAML's composer shares one node for every alias of an anchor, so a 564-byte "billion laughs" file
(anchors of anchors of anchors) composes instantly, and only blows up later, when anything walks the
data as a tree (substitution, validation, the line locator): more than 6 GB in 160 s was measured.
A deeply nested file recurses in the composer and in every walker until `RecursionError`. Both are
stopped here while the file is composed, before anything is built from it:

- `MAX_BYTES`: the file's size (read at most this much plus one byte);
- `MAX_DEPTH`: how deeply collections may nest;
- `MAX_NODES`: how many nodes the document has *with every alias expanded*, which bounds every later
  walk of the data; an alias of an anchor that encloses it (a cycle) is refused outright.

A limit exceeded raises `LimitError`, a `yaml.MarkedYAMLError` that carries the line it was found on.
Settings read: none (the limits are constants; a real config is far below each of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 200_000


class LimitError(yaml.MarkedYAMLError):
    """The document exceeds one of this module's limits; `problem_mark` is where it was noticed."""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer counts nesting depth and alias-expanded size as it goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes in its fully expanded subtree
        self._total = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # the anchor is still open: the alias lies inside what it names
                raise LimitError(None, None, f"alias *{event.anchor} refers to an anchor that contains it "
                                 "(a cycle); write the value out instead", mark)
            self._count(size, mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise LimitError(None, None, f"nesting deeper than {MAX_DEPTH} levels (the limit of "
                             f"config files); flatten the structure", mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._sizes.get(id(child), 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        self._sizes[id(node)] = size
        if not isinstance(node, yaml.ScalarNode):
            # Children were counted as they were composed; a collection adds only itself, but its
            # expanded size is what an alias to it will cost.
            size = 1
        self._count(size, mark)
        return node

    def _count(self, size: int, mark: Any) -> None:
        self._total += size
        if self._total > MAX_NODES:
            raise LimitError(None, None, f"the document expands to more than {MAX_NODES} values once its "
                             "aliases (*name) are expanded; an alias bomb? write the values out instead", mark)


def read_limited(path: Path) -> str:
    """The text of a config file, refusing one larger than `MAX_BYTES`.

    Raises:
        LimitError: the file is too large.
        OSError, UnicodeDecodeError: it cannot be read.
    """
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise LimitError(None, None, f"the file is larger than {MAX_BYTES // 1000} kB, the limit of config "
                         "files; is it the right file?", None)
    return data.decode("utf-8")


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose a YAML document within the limits and construct its Python value.

    Returns:
        The root node (for mapping key paths to lines) and the loaded value (None for an empty file).

    Raises:
        yaml.YAMLError: the text is not YAML, or `LimitError` when a limit is exceeded.
    """
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        return node, loader.construct_document(node)
    finally:
        loader.dispose()
