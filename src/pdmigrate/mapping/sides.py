"""Side records of a field-only group, on the same record as its fields.

corepractice invoices (landing rules §2 Invoice/Billing): the invoice's payments become
one "Payment history" Note (``options.payment_note``, rows from the cross-object
index), and the invoice PDFs in the attachments folder whose file name contains the
Invoice No become Files (``options.attachments``, a glob with ``{Column}`` placeholders,
matched against :attr:`ApplyContext.attachments`). Both link to the record the
invoice's fields update: the joined plan deal, else the patient. Pure.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.model import MappingObject
from pdmigrate.mapping.payload import Applied, ApplyContext, Payload, Ref
from pdmigrate.mapping.rollups import note_table
from pdmigrate.records import Row

__all__ = ["attached_files", "payment_note"]


def _link(obj: MappingObject, link_name: str | None) -> str:
    return link_name or {"deal": "deal_id", "organization": "org_id", "person": "person_id"}.get(
        obj.targets[0], "deal_id"
    )


def payment_note(
    mapping: MappingFile,
    obj: MappingObject,
    key: str,
    skey: str,
    record: Ref,
    link_name: str | None,
    ctx: ApplyContext,
    where: str,
) -> Applied:
    """The group's "Payment history" Note (a table of its payments), or nothing."""
    from pdmigrate.mapping.entities import marker

    spec = obj.options.get("payment_note")
    rows = ctx.index.side_rows.get(obj.id, {}).get(key) if ctx.index is not None else None
    if not isinstance(spec, dict) or not rows:
        return Applied()
    columns = spec.get("columns") or list(rows[0].values)
    title = str(spec.get("title") or "Payment history")
    text = note_table(rows, [str(c) for c in columns], title)
    content = f"{marker(mapping, skey + '#payments', None)}\n{text}"
    payload = Payload(
        obj.id,
        "note",
        f"{skey}#payments",
        {"content": content},
        {_link(obj, link_name): record},
        where,
        rows=tuple(r.where for r in rows),  # the payment rows, not the invoice's
    )
    return Applied([payload])


def attached_files(
    obj: MappingObject,
    rows: Sequence[Row],
    skey: str,
    record: Ref,
    link_name: str | None,
    ctx: ApplyContext,
) -> Applied:
    """A File per attachment matching ``options.attachments`` whose name holds the value whole.

    ``"*{Invoice No}*.pdf"`` with Invoice No 300014 takes ``invoices/Invoice_300014.pdf``
    but not ``Invoice_3000145.pdf``: the value must not touch other letters or digits.
    """
    from pdmigrate.mapping.fill import render

    pattern = obj.options.get("attachments")
    if not isinstance(pattern, str) or not ctx.attachments or not rows:
        return Applied()
    values = [rows[0].get(c).strip() for c in re.findall(r"\{([^{}]+)\}", pattern)]
    if not all(values):
        return Applied()
    glob = render(pattern, rows[0]).casefold()
    whole = [re.compile(rf"(?<![0-9a-z]){re.escape(v.casefold())}(?![0-9a-z])") for v in values]
    out = Applied()
    for path in ctx.attachments:
        name = path.rsplit("/", 1)[-1].casefold()
        if fnmatch.fnmatchcase(name, glob) and all(w.search(name) for w in whole):
            out.payloads.append(
                Payload(
                    obj.id,
                    "file",
                    f"{skey}#file:{path}",
                    {"file_name": path},
                    {_link(obj, link_name): record},
                    rows[0].where,
                )
            )
    return out
