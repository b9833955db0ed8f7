"""What plan reads from the workspace: the confirmed mapping applied to the exports.

:func:`read_source` refuses an unconfirmed (or edited) mapping and an unknown
visualpractice date order, reads every export once, applies the mapping, and finds the
rows marked private (:func:`private_keys`). :func:`file_problems` checks the attachments
folder for the files the migration uploads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.apply import apply_rows
from pdmigrate.mapping.confirm import require_confirmed
from pdmigrate.mapping.fill import keep_row, key_values
from pdmigrate.mapping.gather import attachment_names, read_rows
from pdmigrate.mapping.io import MAPPING_NAME, load_mapping
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.payload import ApplyContext, Payload, source_key
from pdmigrate.mapping.rollups import group_key
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row
from pdmigrate.state import hash_inputs
from pdmigrate.workspace import Workspace, list_exports

_TRUE = frozenset({"y", "yes", "true", "1", "x", "private", "confidential"})
#: Profile columns that mark a row private when the object names no ``private_column``.
PRIVATE_COLUMNS = ("Private", "Confidential")
#: Entities that take visible_to (notes, activities and files do not).
VISIBLE_ENTITIES = frozenset({"person", "organization", "deal", "product", "lead"})


@dataclass(frozen=True)
class Source:
    """The confirmed mapping applied to the workspace's exports."""

    mapping: MappingFile
    sha256: str
    payloads: Sequence[Payload]
    findings: int = 0
    #: ``file:line`` of the rows apply refused with an error (a missing key...).
    problem_rows: frozenset[str] = frozenset()
    private: frozenset[str] = frozenset()
    not_restrictable: int = 0
    inputs: Mapping[str, str] = field(default_factory=dict)
    inactive_rule: str = "fallback"
    attachments: Path | None = None
    max_file_mb: int = 50


def file_problems(
    payloads: Sequence[Payload], attachments: Path | None, max_file_mb: int
) -> tuple[list[Payload], list[Payload]]:
    """File payloads whose file is missing from the attachments folder, and those too big.

    ``run`` refuses both without calling Pipedrive (landing rules §6 Files).
    """
    missing: list[Payload] = []
    too_big: list[Payload] = []
    limit = max_file_mb * 1024 * 1024
    for p in payloads:
        if p.entity != "file":
            continue
        name = p.fields.get("file_name")
        path = attachments / str(name) if attachments is not None and name else None
        if path is None or not path.is_file():
            missing.append(p)
        elif path.stat().st_size > limit:
            too_big.append(p)
    return missing, too_big


def private_keys(mapping: MappingFile, rows: Mapping[str, Sequence[Row]]) -> tuple[set[str], int]:
    """Source keys of rows marked private, and how many cannot be restricted.

    The object's ``private_column`` option names the column; without one, a profile
    column "Private" or "Confidential" does (Y, Yes, True, 1, X).
    Records of entities without ``visible_to`` (notes, activities) are counted as
    "not restrictable" instead.
    """
    keys: set[str] = set()
    not_restrictable = 0
    for obj in mapping.objects:
        if obj.primary is None or obj.cardinality in ("not_migrated", "reference", "fields_only"):
            continue
        option = obj.options.get("private_column")
        columns = [option] if isinstance(option, str) else list(PRIVATE_COLUMNS)
        renames = mapping.sources.get(obj.primary)
        for line_no, row in enumerate(rows.get(obj.primary, ()), start=1):
            if renames is not None and renames.headers:
                row = Row(
                    {renames.headers.get(h, h): v for h, v in row.values.items()},
                    row.file,
                    row.line,
                    row.sheet,
                )
            if not any(row.get(c).strip().casefold() in _TRUE for c in columns):
                continue
            if not keep_row(obj, row):
                continue
            if not VISIBLE_ENTITIES.intersection(obj.targets):
                not_restrictable += 1
                continue
            if obj.group_by:
                key = list(group_key(row, obj.group_by, before_dot=obj.split_key == "before_dot"))
            elif obj.key:
                key = key_values(obj, row)
            else:
                key = [str(row.line or line_no)]
            keys.add(source_key(mapping, obj, key))
    return keys, not_restrictable


def read_source(workspace: Workspace) -> Source:
    """Refuse without a confirmed mapping; read the exports and apply the mapping."""
    sha = require_confirmed(workspace)
    mapping, lines, _ = load_mapping(workspace.root / MAPPING_NAME)
    profile = load_profile(workspace.config.source)
    if mapping.settings.date_order is None and profile.system.date_order == "config":
        line = lines.line(("settings",)) or 1
        raise ConfigError(
            f"{workspace.root / MAPPING_NAME}:{line}: settings.date_order is not set and the "
            "exports' date order is ambiguous (day-first or month-first)",
            hint="set date_order: dmy or mdy under settings, then `pdmigrate confirm` again",
        )
    exports = workspace.config.exports
    rows = read_rows(mapping, exports, profile)
    ctx = ApplyContext(
        practice_name=workspace.config.name,
        firm_name_patterns=profile.system.firm_name_patterns,
        firm_categories=profile.system.firm_categories,
        attachments=attachment_names(workspace.config.attachments),
    )
    applied = apply_rows(mapping, rows, ctx)
    private, not_restrictable = private_keys(mapping, rows)
    return Source(
        mapping=mapping,
        sha256=sha,
        payloads=applied.payloads,
        findings=len(applied.findings),
        problem_rows=frozenset(
            f.where for f in applied.findings if f.severity == "error" and f.line is not None
        ),
        private=frozenset(private),
        not_restrictable=not_restrictable,
        inputs=hash_inputs(list_exports(exports), exports),
        inactive_rule=profile.system.inactive_staff,
        attachments=workspace.config.attachments,
        max_file_mb=workspace.config.max_file_mb,
    )
