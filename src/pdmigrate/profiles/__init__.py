"""Source-system profiles: one YAML file per system, validated when loaded.

>>> profile = load_profile("corepractice")
>>> profile.system.date_order
'DMY'

A new system is a new YAML file in this folder (or a path given to
:func:`load_profile_file`), not code. Errors name the YAML file and the field.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pdmigrate.errors import ConfigError
from pdmigrate.profiles.match import FileMatch, detect_header, match_file, normalise_header
from pdmigrate.profiles.model import (
    ActivitySpec,
    Automation,
    Column,
    FieldTarget,
    FileSpec,
    Landing,
    PipelineSpec,
    Profile,
    Relationship,
    SourceObject,
    Stage,
    StatusRule,
    SystemMeta,
)

PROFILE_DIR = Path(__file__).resolve().parent

__all__ = [
    "PROFILE_DIR",
    "ActivitySpec",
    "Automation",
    "Column",
    "FieldTarget",
    "FileMatch",
    "FileSpec",
    "Landing",
    "PipelineSpec",
    "Profile",
    "Relationship",
    "SourceObject",
    "Stage",
    "StatusRule",
    "SystemMeta",
    "detect_header",
    "list_profiles",
    "load_profile",
    "load_profile_file",
    "match_file",
    "normalise_header",
]


def list_profiles() -> list[str]:
    """The names of the built-in profiles, sorted (``advancedpm``, ..., ``visualpractice``)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str) -> Profile:
    """Load and validate the built-in profile ``name``; ConfigError if unknown or invalid."""
    path = PROFILE_DIR / f"{name}.yaml"
    if not name.replace("_", "").isalnum() or not path.is_file():
        raise ConfigError(
            f"unknown source system {name!r}",
            hint=f"choose one of: {', '.join(list_profiles())}",
        )
    return _load_cached(str(path))


@lru_cache(maxsize=32)
def _load_cached(path: str) -> Profile:
    return load_profile_file(Path(path))


def load_profile_file(path: Path) -> Profile:
    """Load and validate a profile YAML file; ConfigError names the file and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read profile ({exc.strerror})") from exc
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a profile must be a YAML mapping at the top level")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(data, first["loc"])
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more)" if more else ""
        raise ConfigError(f"{path}: field {field}: {first['msg']}{suffix}") from exc


def _field_path(data: Any, loc: tuple[int | str, ...]) -> str:
    """A dotted path for a pydantic error location, naming list items by their name or id."""
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
            label = node.get("name") or node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{label}]" if label else f"[{step}]")
            continue
        node = node[step] if isinstance(node, dict) and step in node else None
        parts.append(f".{step}" if parts else str(step))
    return "".join(parts)
