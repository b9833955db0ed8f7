"""YAML with line numbers: load a mapping keeping where every key and item sits, dump it readably.

:func:`load_with_lines` returns the plain data (as ``yaml.safe_load`` would) and a
:class:`LineIndex` from paths (``("objects", 3, "fields", 2)``) to 1-based line
numbers, so a validation error can name ``mapping.yaml:57``. :func:`dump` writes the
mapping with one flow-style line per field, value-map entry and stage, which keeps
the file short to review and makes every such line individually addressable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from pdmigrate.errors import ConfigError

Path_ = tuple[str | int, ...]


class LineIndex:
    """Line numbers (1-based) of every mapping key and sequence item by its path."""

    def __init__(self, lines: dict[Path_, int]) -> None:
        self._lines = lines

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        parts = tuple(path)
        while parts:
            found = self._lines.get(parts)
            if found is not None:
                return found
            parts = parts[:-1]
        return self._lines.get((), None)

    def __len__(self) -> int:
        return len(self._lines)


def _walk(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, str(key))
            out[child] = key_node.start_mark.line + 1
            _walk(value_node, child, out)
            out[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            out[child] = item.start_mark.line + 1
            _walk(item, child, out)
            out[child] = item.start_mark.line + 1


def load_with_lines(text: str, where: str = "mapping.yaml") -> tuple[Any, LineIndex]:
    """Parse YAML text; ConfigError with ``where:line`` when it is not valid YAML."""
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{where}:{mark.line + 1}" if mark is not None else where
        raise ConfigError(
            f"{place}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
        ) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineIndex(lines)


class Flow(dict[str, Any]):
    """A mapping written on one line (``{column: X, field: y}``)."""


class FlowList(list[Any]):
    """A list written on one line (``[a, b]``)."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _flow_dict(dumper: yaml.SafeDumper, data: Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _flow_list(dumper: yaml.SafeDumper, data: FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _block_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=False)


_Dumper.add_representer(Flow, _flow_dict)
_Dumper.add_representer(FlowList, _flow_list)
_Dumper.add_representer(dict, _block_dict)


def dump(data: Any, header: str = "") -> str:
    """YAML text for ``data`` (key order kept), preceded by ``header`` comment lines."""
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        default_flow_style=False,
    )
    prefix = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) if header else ""
    return prefix + body
