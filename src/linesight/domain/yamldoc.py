"""YAML text to plain data plus the line and column of every value, so errors can point at the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

Location = tuple[str | int, ...]


class _PlantLoader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 numbers: ``14:30`` stays text instead of becoming 870 (base 60)."""


_PlantLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PlantLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_PlantLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


@dataclass(frozen=True, kw_only=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, kw_only=True)
class YamlProblem:
    position: Position
    message: str


class YamlDocument:
    """The data of one YAML document and where each of its values stands in the text."""

    def __init__(self, data: Any, positions: dict[Location, Position], problems: list[YamlProblem]) -> None:
        self.data = data
        self.problems = problems
        self._positions = positions

    def position_of(self, location: Location) -> Position:
        """The position of the value at ``location`` or, if absent, of its nearest existing parent."""
        for end in range(len(location), -1, -1):
            found = self._positions.get(location[:end])
            if found is not None:
                return found
        return Position(line=1, column=1)

    def has(self, location: Location) -> bool:
        return location in self._positions


def _position(node: yaml.Node) -> Position:
    return Position(line=node.start_mark.line + 1, column=node.start_mark.column + 1)


def _walk(
    node: yaml.Node, location: Location, out: dict[Location, Position], problems: list[YamlProblem]
) -> None:
    out.setdefault(location, _position(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, Position] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                continue
            if key in seen:
                first = seen[key]
                problems.append(
                    YamlProblem(
                        position=_position(key_node),
                        message=f"duplicate key '{key}' (first given on line {first.line})",
                    )
                )
            seen[key] = _position(key_node)
            # Point a field's errors at its key, which is where a person looks for it.
            out[(*location, key)] = _position(key_node)
            _walk(value_node, (*location, key), out, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*location, index), out, problems)


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; syntax errors come back as problems, never as exceptions."""
    try:
        root = yaml.compose(text, Loader=_PlantLoader)
        data = yaml.load(text, Loader=_PlantLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = " ".join(part for part in (err.context, err.problem) if part) or str(err)
        return YamlDocument(
            None, {}, [YamlProblem(position=Position(line=line, column=column), message=message)]
        )
    except yaml.YAMLError as err:
        return YamlDocument(None, {}, [YamlProblem(position=Position(line=1, column=1), message=str(err))])
    positions: dict[Location, Position] = {}
    problems: list[YamlProblem] = []
    if root is not None:
        _walk(root, (), positions, problems)
    return YamlDocument(data, positions, problems)
