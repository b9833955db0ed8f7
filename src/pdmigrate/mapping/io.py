"""Read and write mapping.yaml: the file a user reviews, edits and confirms."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.model import Mapping
from pdmigrate.mapping.model import parse_mapping as _parse
from pdmigrate.mapping.yamlio import Flow, FlowList, LineIndex, dump, load_with_lines

MAPPING_NAME = "mapping.yaml"

HEADER = """\
pdmigrate mapping: review it, edit it, then run `pdmigrate confirm`.
Fields are named, never keyed: custom-field keys are resolved per account at plan time.
Each field line: columns -> field (entity, custom type), transform chain, rollup, value map,
confidence. Lines under 0.8 confidence are listed by `pdmigrate map`.
Reference: docs/mapping-file.md"""


def _styled(data: Any, path: tuple[str, ...] = ()) -> Any:
    """Mark the parts written one per line (field lines, stages, links, rules) as flow."""
    if isinstance(data, dict):
        out = {k: _styled(v, (*path, str(k))) for k, v in data.items()}
        last = path[-1] if path else ""
        parent = path[-2] if len(path) >= 2 else ""
        if parent in {"links", "map"} or last in {"default", "pivot", "note_table", "note"}:
            return Flow(out)
        return out
    if isinstance(data, list):
        last = path[-1] if path else ""
        items = [_styled(v, (*path, "[]")) for v in data]
        if last in {"fields", "stages", "not_migrated"}:
            return [Flow(i) if isinstance(i, dict) else i for i in items]
        if all(not isinstance(i, (dict, list)) for i in items):
            return FlowList(items)
        return items
    return data


def to_yaml(mapping: Mapping) -> str:
    """The mapping as YAML text (defaults left out, one line per field line)."""
    data = mapping.model_dump(mode="json", exclude_defaults=True)
    data = {"version": mapping.version, **data}
    return dump(_styled(data), HEADER)


def sha256_text(text: str) -> str:
    """The sha256 of the mapping text as stored (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_text(text: str, where: str = MAPPING_NAME) -> tuple[Mapping, LineIndex]:
    """Parse mapping text; ConfigError naming ``where:line`` for any problem."""
    data, lines = load_with_lines(text, where)
    return _parse(data, lines, where), lines


def load_mapping(path: Path) -> tuple[Mapping, LineIndex, str]:
    """Load ``mapping.yaml``: the model, its line index and the file's sha256."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found", hint="propose one with `pdmigrate map`") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    mapping, lines = parse_text(text, str(path))
    return mapping, lines, hashlib.sha256(raw).hexdigest()
