"""`pdmigrate confirm`: validate the reviewed mapping, then lock it by its sha256.

Validation checks the mapping against the profile (source objects and columns), the
data (export files and headers), the transform registry (every chain parses), its
own references (value maps, pipelines and stages, link targets) and the target
account's schema (an existing field of the same name must have a compatible type).
Every problem names ``mapping.yaml:LINE``. :func:`require_confirmed` is what every
later write command calls: it refuses, with exit code 2, an unconfirmed mapping or
one edited since it was confirmed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.io import MAPPING_NAME, load_mapping
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.model import MappingObject
from pdmigrate.mapping.names import equivalent_name
from pdmigrate.mapping.yamlio import LineIndex
from pdmigrate.profiles import Profile
from pdmigrate.state import State, now_utc
from pdmigrate.transforms import TransformSpecError, parse_chain
from pdmigrate.workspace import Workspace

#: Link targets that are not mapped objects: resolved by plan (users, the practice root).
ENTITY_TARGETS = frozenset({"user", "organization", "person", "practice", "deal"})
#: Account field types a mapping's custom type may reuse.
COMPATIBLE: dict[str, frozenset[str]] = {
    "varchar": frozenset({"varchar", "varchar_auto", "text"}),
    "text": frozenset({"text", "varchar"}),
    "double": frozenset({"double", "monetary"}),
    "monetary": frozenset({"monetary", "double"}),
    "enum": frozenset({"enum"}),
    "set": frozenset({"set", "enum"}),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem at a line of mapping.yaml."""

    line: int
    message: str
    severity: str = "error"

    def render(self, where: str) -> str:
        """``mapping.yaml:12: message``."""
        return f"{where}:{self.line}: {self.message}"


@dataclass
class Validation:
    """The outcome of validating a mapping."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def add(self, line: int | None, message: str, *, warning: bool = False) -> None:
        """Record a problem (a warning when ``warning``)."""
        target = self.warnings if warning else self.errors
        target.append(Problem(line or 1, message, "warning" if warning else "error"))


def validate(
    mapping: MappingFile,
    lines: LineIndex,
    profile: Profile,
    *,
    headers: Mapping[str, Collection[str]] | None = None,
    account_fields: Mapping[str, Mapping[str, str]] | None = None,
    files: Collection[str] | None = None,
    values: Mapping[str, Mapping[str, Collection[str]]] | None = None,
) -> Validation:
    """Check a parsed mapping against the profile, the data and the account.

    ``headers`` is ``{source object: headers in the data}``, ``account_fields`` is
    ``{entity: {field name: field type}}`` of the target account, ``files`` the export
    files present, ``values`` ``{source object: {column: distinct values}}`` of the
    data's pick-lists (values missing from a line's value map are warned about).
    """
    out = Validation()
    if files is not None:
        present = set(files)
        for name, source in mapping.sources.items():
            for i, file in enumerate(source.files):
                if file not in present:
                    out.add(
                        lines.line(("sources", name, "files", i)),
                        f"sources: {name} file {file!r} is not in the exports folder",
                    )
    if values is not None:
        _check_values(mapping, lines, values, out)
    if mapping.profile != profile.name:
        out.add(
            lines.line(("profile",)),
            f"profile {mapping.profile!r} is not the workspace's source {profile.name!r}",
        )
    object_names = {o.name for o in profile.objects}
    ids = {o.id for o in mapping.objects}
    for name in mapping.sources:
        if name not in object_names:
            out.add(
                lines.line(("sources", name)), f"sources: {name!r} is not a {profile.name} object"
            )
    custom_types: dict[tuple[str, str], tuple[str, int | None]] = {}
    left_out: dict[str, set[str]] = {}
    for item in mapping.not_migrated:
        if item.column:
            left_out.setdefault(item.object, set()).add(item.column)
    for i, obj in enumerate(mapping.objects):
        at = ("objects", i)
        for src in obj.source:
            if src not in object_names:
                out.add(
                    lines.line((*at, "source")), f"object {obj.id}: unknown source object {src!r}"
                )
        known = _columns(profile, obj.source, headers, mapping)

        def need(
            column: str,
            path: tuple[str | int, ...],
            what: str,
            known: set[str] | None = known,
            obj: MappingObject = obj,
        ) -> None:
            if known is not None and column not in known:
                out.add(
                    lines.line(path),
                    f"object {obj.id}: {what} column {column!r} is not in "
                    f"{', '.join(obj.source)} (profile or export header)",
                )

        for column in obj.key:
            need(column, (*at, "key"), "key")
        for column in obj.group_by:
            need(column, (*at, "group_by"), "group_by")
        for name, link in obj.links.items():
            via = _columns(profile, [link.via], headers, mapping) if link.via else known
            for column in link.columns:
                need(column, (*at, "links", name), f"link {name}", via)
            if link.to not in ids and link.to not in ENTITY_TARGETS:
                out.add(
                    lines.line((*at, "links", name)),
                    f"object {obj.id}: link {name} points to unknown object {link.to!r}",
                )
        if obj.status is not None:
            if obj.status.column:
                need(obj.status.column, (*at, "status", "column"), "status")
            pipe = mapping.pipeline(obj.pipeline or "")
            if pipe is None:
                out.add(
                    lines.line((*at, "pipeline")),
                    f"object {obj.id}: pipeline {obj.pipeline!r} is not under pipelines",
                )
            else:
                stages = {s.name for s in pipe.stages}
                for value, rule in obj.status.map.items():
                    if rule.stage is not None and rule.stage not in stages:
                        out.add(
                            lines.line((*at, "status", "map", value)),
                            f"object {obj.id}: stage {rule.stage!r} is not a stage of "
                            f"pipeline {pipe.name!r}",
                        )
        for j, line in enumerate(obj.fields):
            path = (*at, "fields", j)
            for column in line.columns:
                need(column, path, "field line")
            if line.weight:
                need(line.weight, path, "weight")
            dropped = [c for c in line.columns if (c in left_out.get(obj.primary or "", ()))]
            if dropped:
                out.add(
                    lines.line(path),
                    f"object {obj.id}: column {dropped[0]!r} is listed under not_migrated; "
                    "this line is skipped",
                    warning=True,
                )
            try:
                parse_chain(line.transform)
            except TransformSpecError as exc:
                out.add(lines.line(path), f"object {obj.id}: {exc.message}")
            if line.values is not None and line.values not in mapping.value_maps:
                out.add(
                    lines.line(path),
                    f"object {obj.id}: value map {line.values!r} is not under value_maps",
                )
            entity = obj.entity_of(line)
            if line.custom is None:
                if not line.native_on(entity):
                    out.add(
                        lines.line(path),
                        f"object {obj.id}: {line.field!r} is not a native "
                        f"{entity} field; give it a custom type (custom: varchar, ...)",
                    )
                continue
            seen = custom_types.get((entity, line.field))
            if seen is not None and seen[0] != line.custom:
                out.add(
                    lines.line(path),
                    f"object {obj.id}: custom field {line.field!r} is "
                    f"{line.custom} here but {seen[0]} at line {seen[1]}",
                )
            custom_types.setdefault((entity, line.field), (line.custom, lines.line(path)))
            existing = (account_fields or {}).get(entity, {})
            found = equivalent_name(line.field, existing)
            if found is not None:
                have = existing[found]
                if have not in COMPATIBLE.get(line.custom, frozenset({line.custom})):
                    out.add(
                        lines.line(path),
                        f"object {obj.id}: the account's {entity} field "
                        f"{found!r} is {have}, the mapping says {line.custom}",
                    )
                elif found != line.field:
                    out.add(
                        lines.line(path),
                        f"object {obj.id}: {line.field!r} reuses the account's field {found!r}",
                        warning=True,
                    )
    for name, table in mapping.value_maps.items():
        unmapped = [k for k, v in table.items() if v is None]
        if unmapped and not set(table.values()) <= {"Yes", None}:
            out.add(
                lines.line(("value_maps", name)),
                f"value map {name!r}: {len(unmapped)} "
                "value(s) map to nothing and will be left empty",
                warning=True,
            )
    return out


def _check_values(
    mapping: MappingFile,
    lines: LineIndex,
    values: Mapping[str, Mapping[str, Collection[str]]],
    out: Validation,
) -> None:
    """Warn at a line whose value map lacks values that occur in the data."""
    from pdmigrate.transforms.text import normalise_key

    for i, obj in enumerate(mapping.objects):
        renames = mapping.sources.get(obj.primary or "")
        back = {v: k for k, v in (renames.headers if renames else {}).items()}
        for j, line in enumerate(obj.fields):
            if (
                line.values is None
                or len(line.columns) != 1
                or line.values not in mapping.value_maps
            ):
                continue
            column = line.columns[0]
            found = values.get(obj.primary or "", {})
            seen = found.get(column) or found.get(back.get(column, column)) or ()
            table = {normalise_key(str(k)) for k in mapping.value_maps[line.values]}
            missing = sorted({v for v in seen if normalise_key(v) not in table})
            if missing and "split" not in line.transform:
                out.add(
                    lines.line(("objects", i, "fields", j)),
                    f"object {obj.id}: {len(missing)} value(s) of {column!r} in the data are not "
                    f"in value map {line.values!r} and will be left empty",
                    warning=True,
                )


def _columns(
    profile: Profile,
    sources: list[str],
    headers: Mapping[str, Collection[str]] | None,
    mapping: MappingFile,
) -> set[str] | None:
    known: set[str] = set()
    for name in sources:
        try:
            obj = profile.object(name)
        except KeyError:
            return None
        known.update(c.name for c in obj.columns)
        known.update((headers or {}).get(name, ()))
        source = mapping.sources.get(name)
        if source is not None:
            known.update(source.headers.values())
    return known


def confirm(state: State, path: Path, sha256: str, profile: str) -> int:
    """Record the confirmation (a ``confirm`` run and the mapping's sha256); return the run id."""
    run_id = state.start_run("confirm", profile=profile, mapping_sha256=sha256)
    state.conn.execute(
        "INSERT INTO mapping_confirmations (sha256, profile, path, run_id, confirmed_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (sha256, profile, str(path), run_id, now_utc()),
    )
    state.finish_run(run_id, "done", {"sha256": sha256})
    return run_id


def confirmed_sha256(state: State) -> str | None:
    """The sha256 of the last confirmed mapping, or None."""
    row = state.conn.execute(
        "SELECT sha256 FROM mapping_confirmations ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def require_confirmed(workspace: Workspace | Path) -> str:
    """Refuse (ConfigError, exit 2) unless mapping.yaml is confirmed and unchanged.

    Returns the confirmed sha256.

    Every command that writes to Pipedrive calls this first.
    """
    root = workspace.root if isinstance(workspace, Workspace) else Path(workspace)
    path = root / MAPPING_NAME
    if not path.is_file():
        raise ConfigError(
            f"{path}: no mapping; nothing is written before a mapping is confirmed",
            hint="run `pdmigrate map`, review mapping.yaml, then `pdmigrate confirm`",
        )
    import hashlib

    current = hashlib.sha256(path.read_bytes()).hexdigest()
    with State(root / "state.db") as state:
        locked = confirmed_sha256(state)
    if locked is None:
        raise ConfigError(
            f"{path}: the mapping is not confirmed; nothing is written before it is",
            hint="review mapping.yaml, then run `pdmigrate confirm`",
        )
    if locked != current:
        raise ConfigError(
            f"{path}: the mapping changed since it was confirmed "
            f"(confirmed {locked[:12]}, now {current[:12]})",
            hint="review the changes, then run `pdmigrate confirm` again",
        )
    return current


def load_for_confirm(path: Path) -> tuple[MappingFile, LineIndex, str]:
    """Load mapping.yaml for confirmation (ConfigError with file:line when it is invalid)."""
    if not path.is_file():
        raise ConfigError(f"{path}: not found", hint="propose one with `pdmigrate map`")
    return load_mapping(path)


__all__ = [
    "MAPPING_NAME",
    "Problem",
    "Validation",
    "confirm",
    "confirmed_sha256",
    "load_for_confirm",
    "require_confirmed",
    "validate",
]
