"""The mapping stage: propose mapping.yaml, validate and lock it, apply it to rows.

* :mod:`.model` – the mapping.yaml model (errors name the file's line);
* :mod:`.propose` – profile defaults + header matching + value sniffing -> a proposal;
* :mod:`.confirm` – validation against profile, data and account; the sha256 lock and
  :func:`require_confirmed`, which every write command calls first;
* :mod:`.apply` – pure: rows -> payloads per target entity (field names, not keys);
* :mod:`.crossref` – the cross-object rules' per-key index (joins, most frequent links);
* :mod:`.spread` – ``constant_across`` routing, household organizations, and
  :func:`line_entities` (every entity a line's custom field can land on);
* :mod:`.rollups` – ``group_by``, ``sum``, ``count``, ``first``, ``last``, ``pivot``,
  ``note_table`` and the other rollups.

See ``docs/mapping-file.md`` for the file format.
"""

from __future__ import annotations

from pdmigrate.mapping.apply import apply_object, apply_rows
from pdmigrate.mapping.compat import compatibility, sentence
from pdmigrate.mapping.confirm import require_confirmed, validate
from pdmigrate.mapping.io import MAPPING_NAME, load_mapping, parse_text, to_yaml
from pdmigrate.mapping.model import FieldLine, Mapping, MappingObject, Settings
from pdmigrate.mapping.payload import Applied, ApplyContext, Payload, Ref
from pdmigrate.mapping.propose import Proposal, TableSample, propose
from pdmigrate.mapping.spread import line_entities

__all__ = [
    "MAPPING_NAME",
    "Applied",
    "ApplyContext",
    "FieldLine",
    "Mapping",
    "MappingObject",
    "Payload",
    "Proposal",
    "Ref",
    "Settings",
    "TableSample",
    "apply_object",
    "apply_rows",
    "compatibility",
    "line_entities",
    "load_mapping",
    "parse_text",
    "propose",
    "require_confirmed",
    "sentence",
    "to_yaml",
    "validate",
]
