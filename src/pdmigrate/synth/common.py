"""Shared machinery of the synthetic export generators.

Everything is deterministic under a seed: one :class:`random.Random`, name pools drawn
once from faker (seeded) instead of calling faker per row, a fixed export date, and
output writers that produce the same bytes every time.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from faker import Faker

from pdmigrate.synth.binary import Cell, XlsxWriter

#: The day every synthetic export was "taken". Fixed so output never depends on the clock.
EXPORT_DATE = date(2025, 6, 30)

DateOrder = Literal["DMY", "MDY", "YMD"]

#: Accented and apostrophe names real exports contain; all encodable in cp1252.
SPECIAL_FIRST = ["Zoë", "José", "Renée", "Chloé", "Søren", "Noël", "Anaïs", "Björn"]
SPECIAL_LAST = ["O'Brien", "Müller", "Nuñez", "D'Angelo", "Gómez", "Lefèvre", "Ó Súilleabháin"]
PLACEHOLDER_EMAILS = ["none@none.com", "noemail@noemail.com", "na@na.com"]
NICKNAMES = {
    "John": "Jon",
    "Jonathan": "Jon",
    "Katherine": "Kathy",
    "Elizabeth": "Liz",
    "William": "Bill",
    "Robert": "Bob",
    "Michael": "Mike",
    "Jennifer": "Jen",
    "Christopher": "Chris",
    "Matthew": "Matt",
}
#: Defects of one kind listed in the manifest beyond this are only counted.
DEFECT_LIST_CAP = 2000
FORMULA = '=HYPERLINK("http://example.invalid/x","Click here")'


_T = TypeVar("_T")


class SynthRandom(random.Random):
    """A seeded Random with cheaper ``choice``, ``randint`` and ``randrange(n)``.

    The standard ones reject-sample for exact uniformity, which costs several calls per
    draw; synthetic data does not need that, and a million rows do need the speed.
    """

    def choice(self, seq: Sequence[_T]) -> _T:  # type: ignore[override]
        """One element of a non-empty sequence."""
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        """An integer in [a, b]."""
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """An integer in [0, start) or [start, stop) (step 1 only)."""
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))


def _cp1252_safe(value: str) -> bool:
    try:
        value.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Pools:
    """Name, address and company pools drawn once from a seeded faker."""

    female: list[str]
    male: list[str]
    last: list[str]
    streets: list[str]
    places: list[tuple[str, str, str]]
    companies: list[str]
    words: list[str]
    domains: list[str]

    @classmethod
    def build(cls, locale: str, seed: int, size: int = 150) -> Pools:
        """Draw the pools from faker's ``locale`` with a fixed seed."""
        fake = Faker(locale)
        fake.seed_instance(seed)

        def uniq(make: Any, count: int) -> list[str]:
            seen: dict[str, None] = {}
            for _ in range(count * 4):
                value = make()
                if _cp1252_safe(value):
                    seen.setdefault(value, None)
                if len(seen) >= count:
                    break
            return list(seen)

        female = uniq(fake.first_name_female, size) + SPECIAL_FIRST[::2]
        male = uniq(fake.first_name_male, size) + SPECIAL_FIRST[1::2]
        last = uniq(fake.last_name, size * 2) + SPECIAL_LAST
        streets = uniq(fake.street_address, size)
        places: list[tuple[str, str, str]] = []
        for _ in range(size // 3):
            city = fake.city()
            state = fake.state_abbr() if hasattr(fake, "state_abbr") else fake.county()
            postcode = fake.postcode()
            if _cp1252_safe(city + state + postcode):
                places.append((city, state, postcode))
        companies = uniq(fake.company, size // 2)
        words = uniq(fake.word, 200)
        domains = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"]
        if locale == "en_AU":
            domains += ["bigpond.com", "optusnet.com.au"]
        return cls(female, male, last, streets, places, companies, words, domains)

    sentences: dict[int, list[str]] = field(default_factory=dict)

    def sentence(self, rng: random.Random, words: int = 10) -> str:
        """A lorem-style sentence from the word pool (512 per length, drawn on first use)."""
        pool = self.sentences.get(words)
        if pool is None:
            pool = []
            for _ in range(512):
                text = " ".join(rng.choice(self.words) for _ in range(words))
                pool.append(text[:1].upper() + text[1:] + ".")
            self.sentences[words] = pool
        return pool[int(rng.random() * len(pool))]


@dataclass
class Manifest:
    """What was generated: files, exact row counts per object, and deliberate defects."""

    system: str
    seed: int
    patients: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    defects: dict[str, list[Any]] = field(default_factory=dict)
    defect_counts: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def defect(self, kind: str, item: Any) -> None:
        """Record one deliberate defect of ``kind`` (listed up to :data:`DEFECT_LIST_CAP`)."""
        self.defect_counts[kind] = self.defect_counts.get(kind, 0) + 1
        items = self.defects.setdefault(kind, [])
        if len(items) < DEFECT_LIST_CAP:
            items.append(item)

    def add_file(self, name: str, info: dict[str, Any]) -> None:
        """Record a written file and add its data rows to its object's count."""
        self.files[name] = info
        obj = info.get("object")
        if obj:
            self.objects[obj] = self.objects.get(obj, 0) + int(info.get("rows", 0))

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``synth_manifest.json``."""
        return {
            "system": self.system,
            "seed": self.seed,
            "patients": self.patients,
            "export_date": EXPORT_DATE.isoformat(),
            "files": dict(sorted(self.files.items())),
            "objects": dict(sorted(self.objects.items())),
            "defects": dict(sorted(self.defects.items())),
            "defect_counts": dict(sorted(self.defect_counts.items())),
            "defect_list_cap": DEFECT_LIST_CAP,
            **self.extra,
        }


class TableWriter:
    """Writes one export table as CSV (any encoding, CRLF) or XLSX, counting data rows."""

    def __init__(
        self,
        out: Path,
        name: str,
        obj: str,
        header: Sequence[str],
        manifest: Manifest,
        *,
        encoding: str = "utf-8",
        title: Sequence[Sequence[Cell]] = (),
        delimiter: str = ",",
    ) -> None:
        self.name = name
        self.obj = obj
        self.rows = 0
        self.header = list(header)
        self._manifest = manifest
        self._encoding = encoding
        self._delimiter = delimiter
        self._title_rows = len(title)
        self._trailer = 0
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._xlsx: XlsxWriter | None = None
        if name.endswith(".xlsx"):
            self._xlsx = XlsxWriter(path, "Report")
            for row in title:
                self._xlsx.append(row)
            self._xlsx.append(self.header)
        else:
            self._fh = path.open("w", encoding=encoding, newline="", errors="strict")
            self._csv = csv.writer(self._fh, delimiter=delimiter, lineterminator="\r\n")
            for row in title:
                self._csv.writerow(row)
            self._csv.writerow(self.header)

    def row(self, values: Sequence[Cell]) -> int:
        """Write one data row; returns its 1-based line number among rows (header = 0)."""
        self.rows += 1
        if self._xlsx is not None:
            self._xlsx.append(values)
        else:
            self._csv.writerow(values)
        return self.rows

    def trailer(self, values: Sequence[Cell]) -> None:
        """A 'Grand Total' style row after the data: not counted as a record."""
        self._trailer += 1
        if self._xlsx is not None:
            self._xlsx.append(values)
        else:
            self._csv.writerow(values)

    def close(self) -> None:
        """Finish the file and record it in the manifest."""
        if self._xlsx is not None:
            self._xlsx.close()
            fmt = "xlsx"
        else:
            self._fh.close()
            fmt = "csv"
        self._manifest.add_file(
            self.name,
            {
                "object": self.obj,
                "rows": self.rows,
                "format": fmt,
                "encoding": None if fmt == "xlsx" else self._encoding,
                "delimiter": None if fmt == "xlsx" else self._delimiter,
                "title_rows": self._title_rows,
                "header_row": self._title_rows + 1,
                "trailer_rows": self._trailer,
                "columns": self.header,
            },
        )


@contextmanager
def table(
    out: Path,
    name: str,
    obj: str,
    header: Sequence[str],
    manifest: Manifest,
    **kwargs: Any,
) -> Iterator[TableWriter]:
    """Context manager around :class:`TableWriter`."""
    writer = TableWriter(out, name, obj, header, manifest, **kwargs)
    try:
        yield writer
    finally:
        writer.close()


# --- formatting --------------------------------------------------------------------


def fmt_date(value: date | None, order: DateOrder, *, pad: bool = True) -> str:
    """A date as the system prints it (``MM/DD/YYYY``, ``DD/MM/YYYY`` or ISO)."""
    if value is None:
        return ""
    if order == "YMD":
        return value.isoformat()
    day = f"{value.day:02d}" if pad else str(value.day)
    if order == "DMY":
        return f"{day}/{value.month:02d}/{value.year}"
    return f"{value.month:02d}/{day}/{value.year}"


def fmt_time(value: datetime, twelve: bool) -> str:
    """A time as ``9:30 AM`` (12 h) or ``09:30`` (24 h)."""
    if twelve:
        hour = value.hour % 12 or 12
        return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"
    return f"{value.hour:02d}:{value.minute:02d}"


def fmt_money(value: float, symbol: str = "") -> str:
    """Money as reports print it: ``1,234.56`` or ``$1,234.56``."""
    return f"{symbol}{value:,.2f}"


def rand_date(rng: random.Random, start: date, end: date) -> date:
    """A uniformly random date in [start, end]."""
    return start + timedelta(days=rng.randint(0, (end - start).days))


def slot(rng: random.Random, day: date) -> datetime:
    """A plausible appointment start on ``day`` (08:00-17:45 in 15-minute steps)."""
    return datetime(day.year, day.month, day.day, 8) + timedelta(minutes=15 * rng.randint(0, 39))


def email_for(first: str, last: str, n: int, domain: str) -> str:
    """A personal email address built from a name (ASCII only)."""
    local = f"{first}.{last}".lower()
    local = "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch == "."))
    return f"{local}{n % 100 if n % 3 == 0 else ''}@{domain}"


def us_phone(rng: random.Random) -> str:
    """A US number as PM systems display it: ``(555) 123-4567``."""
    return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def au_mobile(rng: random.Random) -> str:
    """An AU mobile: ``04xx xxx xxx``."""
    return f"04{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def au_landline(rng: random.Random) -> str:
    """An AU landline: ``(02) 9xxx xxxx``."""
    area = rng.choice(["02", "03", "07", "08"])
    return f"({area}) {rng.randint(5000, 9999)} {rng.randint(0, 9999):04d}"


def gb_mobile(rng: random.Random) -> str:
    """A UK mobile: ``07xxx xxxxxx``."""
    return f"07{rng.randint(100, 999)} {rng.randint(0, 999999):06d}"


def html_note(rng: random.Random, pools: Pools) -> str:
    """A rich-text note as a cloud PMS stores it (tags, entities, a line break)."""
    a, b = pools.sentence(rng, 8), pools.sentence(rng, 6)
    return f"<p>{a}</p><p><b>Plan:</b> {b}<br/>Patient&#39;s consent &amp; history noted.</p>"


def multiline_note(rng: random.Random, pools: Pools) -> str:
    """A plain note with embedded newlines, commas and quotes."""
    return (
        f"{pools.sentence(rng, 7)}\n"
        f'Said "call back, please" - {pools.sentence(rng, 4)}\n'
        f"{pools.sentence(rng, 5)}"
    )


def write_users(out: Path, users: list[dict[str, Any]]) -> None:
    """``users.json``: the Pipedrive users a sandbox is seeded with."""
    (out / "users.json").write_text(json.dumps(users, indent=2) + "\n", encoding="utf-8")


def write_manifest(out: Path, manifest: Manifest) -> None:
    """``synth_manifest.json``: counts per object and the deliberate defects."""
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    (out / "synth_manifest.json").write_text(text, encoding="utf-8")
