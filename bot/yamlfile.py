"""YAML loading that remembers where each key came from.

Config and content errors must name the file and line; PyYAML's plain loaders
forget positions, so we compose the node tree and keep a path -> line map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """A YAML document that does not parse, with the 1-based line of the problem."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class LocatedYaml:
    """Parsed YAML data plus the line of every mapping key and sequence item."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path, default: int = 1) -> int:
        """Line of the deepest known ancestor of ``path`` (errors often point below a key)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), default)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], offset: int) -> Any:
    lines.setdefault(path, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                yaml.safe_load(yaml.serialize(key_node))
                if not isinstance(key_node, yaml.ScalarNode)
                else _scalar(key_node)
            )
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1 + offset
            result[key] = _walk(value_node, child, lines, offset)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1 + offset
            items.append(_walk(item, child, lines, offset))
        return items
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # Let PyYAML's safe constructor resolve the tag (int, bool, date, ...).
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load(text: str, line_offset: int = 0) -> LocatedYaml:
    """Parse one YAML document; ``line_offset`` shifts lines (front matter after ``---``)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + line_offset
        raise YamlSyntaxError(str(exc.problem or exc), line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 1 + line_offset) from None
    lines: dict[Path, int] = {}
    if node is None:
        return LocatedYaml(None, {(): 1 + line_offset})
    try:
        data = _walk(node, (), lines, line_offset)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlSyntaxError(
            str(exc.problem), (mark.line + 1 if mark else 1) + line_offset
        ) from None
    return LocatedYaml(data, lines)
