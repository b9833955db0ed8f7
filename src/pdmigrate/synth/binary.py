"""Small real files, byte for byte: a one-page PDF, a baseline JPEG, and a streaming XLSX.

No imaging or PDF library is needed. The PDF has a correct cross-reference table; the
JPEG is a valid baseline (SOF0) greyscale image whose 8x8 blocks are each one flat shade,
so every block codes as a DC value and an end-of-block; the XLSX is written straight into
a zip as SpreadsheetML (inline strings, numbers, dates as Excel serials), which is far
faster than building it cell by cell with openpyxl and reads back with openpyxl.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape

# --- PDF ----------------------------------------------------------------------------


def _pdf_text(value: str) -> str:
    safe = value.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(lines: Sequence[str]) -> bytes:
    """A valid one-page PDF 1.4 (Helvetica) showing ``lines`` of text."""
    text_ops = ["BT", "/F1 12 Tf", "14 TL", "72 760 Td"]
    for line in lines:
        text_ops.append(f"({_pdf_text(line)}) Tj T*")
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


# --- JPEG ---------------------------------------------------------------------------


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _category(value: int) -> int:
    return abs(value).bit_length()


def make_jpeg(shades: Sequence[int], *, blocks_wide: int | None = None) -> bytes:
    """A baseline greyscale JPEG made of 8x8 blocks, each a flat shade (0-255).

    ``shades`` gives one shade per block, left to right then top to bottom.
    """
    if not shades:
        raise ValueError("make_jpeg needs at least one shade")
    wide = blocks_wide or len(shades)
    high = -(-len(shades) // wide)
    cells = [*shades, *([shades[-1]] * (wide * high - len(shades)))]
    # DC coefficient of a flat block with quantiser 1 is 8 * (shade - 128).
    dcs = [8 * (max(0, min(255, s)) - 128) for s in cells]
    diffs = [dcs[0], *(b - a for a, b in itertools.pairwise(dcs))]
    categories = sorted({_category(d) for d in diffs})
    # Canonical Huffman table: every DC category gets a code of the same length, long
    # enough that no code is all ones.
    length = max(1, len(categories).bit_length())
    while (1 << length) - 1 < len(categories):
        length += 1
    codes = {cat: (i, length) for i, cat in enumerate(categories)}
    counts = [0] * 16
    counts[length - 1] = len(categories)
    dht_dc = bytes([0x00, *counts, *categories])
    # AC table: only end-of-block (0x00), one-bit code "0".
    ac_counts = [1] + [0] * 15
    dht_ac = bytes([0x10, *ac_counts, 0x00])

    bits: list[int] = []

    def put(value: int, nbits: int) -> None:
        bits.extend((value >> (nbits - 1 - i)) & 1 for i in range(nbits))

    for diff in diffs:
        cat = _category(diff)
        code, clen = codes[cat]
        put(code, clen)
        if cat:
            put(diff if diff > 0 else diff + (1 << cat) - 1, cat)
        put(0, 1)  # EOB
    bits.extend([1] * (-len(bits) % 8))
    scan = bytearray()
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i : i + 8])), 2)
        scan.append(byte)
        if byte == 0xFF:
            scan.append(0x00)
    height, width = high * 8, wide * 8
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + bytes([1] * 64)),
            _segment(
                0xC0,
                b"\x08"
                + height.to_bytes(2, "big")
                + width.to_bytes(2, "big")
                + b"\x01\x01\x11\x00",
            ),
            _segment(0xC4, dht_dc),
            _segment(0xC4, dht_ac),
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            bytes(scan),
            b"\xff\xd9",
        ]
    )


# --- XLSX ---------------------------------------------------------------------------

_EPOCH = date(1899, 12, 30)
_FIXED_TIME = (2025, 1, 1, 0, 0, 0)

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_ODR = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SML}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SML}.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_ODR}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_ODR}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_ODR}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

Cell = str | int | float | date | None


def _text_xml(text: str) -> str:
    if not text:
        return "<c/>"
    if "&" in text or "<" in text or ">" in text:
        text = escape(text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if "\n" in text or text[:1] == " " or text[-1:] == " ":
        return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def _cell_xml(value: Cell) -> str:
    """One ``<c>`` element. Cells carry no ``r`` reference: position is implied by order."""
    if isinstance(value, str):
        return _text_xml(value)
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f"<c><v>{value!r}</v></c>"
    if isinstance(value, datetime):
        delta = value - datetime(1899, 12, 30)
        return f'<c s="1"><v>{delta.days + delta.seconds / 86400!r}</v></c>'
    return f'<c s="1"><v>{(value - _EPOCH).days}</v></c>'


class XlsxWriter:
    """Stream rows into a one-sheet .xlsx without holding them in memory."""

    def __init__(self, path: Path, sheet: str = "Sheet1") -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheet_name = sheet
        for name, body in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
            (
                "xl/workbook.xml",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets>'
                "</workbook>",
            ),
        ):
            self._zip.writestr(self._info(name), body)
        self._stream = self._zip.open(self._info("xl/worksheets/sheet1.xml"), "w")
        self._stream.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>"
        )
        self._row = 0
        self._buffer: list[str] = []

    @staticmethod
    def _info(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        setattr(info, "_compresslevel", 1)  # noqa: B010 - private slot in 3.11, public later
        return info

    def append(self, values: Iterable[Cell]) -> None:
        """Write the next row (None and "" leave a cell empty)."""
        self._row += 1
        self._buffer.append(f"<row>{''.join(map(_cell_xml, values))}</row>")
        if len(self._buffer) >= 512:
            self._flush()

    def _flush(self) -> None:
        self._stream.write("".join(self._buffer).encode("utf-8"))
        self._buffer.clear()

    def close(self) -> None:
        """Finish the sheet and the zip."""
        self._flush()
        self._stream.write(b"</sheetData></worksheet>")
        self._stream.close()
        self._zip.close()

    def __enter__(self) -> XlsxWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
