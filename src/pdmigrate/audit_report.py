"""The audit's outputs: ``reports/audit.html``, ``reports/quarantine.csv``, ``--expected``.

The HTML page is one self-contained file (inline CSS, no scripts, no network),
rendered by Jinja2 with autoescaping, so a ``<script>`` in a source value is shown
as text. CSV cells that a spreadsheet would run as a formula (starting with
``= + - @``, tab or carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from pdmigrate.audit_model import AuditResult
from pdmigrate.errors import ConfigError

#: Findings listed in the HTML page (the JSON has them all).
HTML_FINDINGS = 2000

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Make a CSV cell safe to open in a spreadsheet (no formula runs)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def write_quarantine(result: AuditResult, path: Path) -> Path:
    """Write the rows that cannot be migrated, one per line, with the reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "line", "object", "key", "code", "reason", "record"])
        for item in result.quarantine:
            record = json.dumps(item.values, ensure_ascii=False) if item.values else ""
            writer.writerow(
                [
                    neutralise(item.file),
                    "" if item.line is None else str(item.line),
                    neutralise(item.object or ""),
                    neutralise(item.key.replace("\x1f", " / ")),
                    item.code,
                    neutralise(item.reason),
                    neutralise(record),
                ]
            )
    return path


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit: {{ name }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.error{color:#a40000;font-weight:600}.warning{color:#8a5a00}.info{color:#335}
.muted{color:#777}.fix{color:#375}code{font-size:.95em}
@media print{body{margin:0}h2{page-break-after:avoid}}
</style></head><body>
<h1>Data-quality audit: {{ name }}</h1>
<p class="muted">Source system <b>{{ profile }}</b> &middot; generated {{ generated }}
&middot; {{ totals.rows }} rows &middot;
<span class="error">{{ totals.errors }} errors</span>,
<span class="warning">{{ totals.warnings }} warnings</span>,
<span class="info">{{ totals.info }} notes</span> &middot;
{{ quarantined }} rows quarantined</p>

<h2 id="objects">Source objects</h2>
<table><thead><tr><th>object</th><th>files</th><th>rows</th><th>expected</th>
<th>errors</th><th>warnings</th><th>notes</th><th>duplicates</th><th>quarantined</th></tr></thead>
<tbody>{% for oname, o in objects.items() %}<tr><td>{{ oname }}</td>
<td>{{ o.files|join(", ") }}</td><td class="n">{{ o.rows }}</td>
<td class="n">{{ "" if o.expected is none else o.expected }}</td>
<td class="n">{{ o.errors }}</td><td class="n">{{ o.warnings }}</td><td class="n">{{ o.info }}</td>
<td class="n">{{ o.duplicates }}</td><td class="n">{{ o.quarantined }}</td></tr>{% endfor %}
</tbody></table>

<h2 id="files">Files read</h2>
<table><thead><tr><th>file</th><th>object</th><th>encoding</th><th>delimiter</th>
<th>header line</th><th>columns</th></tr></thead><tbody>
{% for f in files %}<tr><td>{{ f.file }}{% if f.sheet %} [{{ f.sheet }}]{% endif %}</td>
<td>{{ f.object or "not recognised" }}</td><td>{{ f.encoding or "" }}</td>
<td><code>{{ f.delimiter|replace("\t", "TAB") if f.delimiter else "" }}</code></td>
<td class="n">{{ f.header_line or "" }}</td><td class="n">{{ f.header|length }}</td></tr>
{% endfor %}
</tbody></table>

<h2 id="codes">Findings by kind</h2>
<table><thead><tr><th>code</th><th>count</th></tr></thead><tbody>
{% for code, n in codes %}<tr><td><code>{{ code }}</code></td><td class="n">{{ n }}</td></tr>
{% endfor %}</tbody></table>

<h2 id="duplicates">Duplicate candidates ({{ duplicates|length }})</h2>
{% if duplicates %}<table><thead><tr><th>object</th><th>reason</th><th>records (key, place)</th>
</tr></thead><tbody>{% for d in duplicates[:500] %}<tr><td>{{ d.object }}</td>
<td>{{ d.reason }}</td><td>{% for r in d.records %}{{ r.key }} ({{ r.file }}:{{ r.line }}){%
if not loop.last %}; {% endif %}{% endfor %}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="muted">None: email alone never makes a duplicate.</p>{% endif %}

<h2 id="findings">Findings{% if shown < total_findings %} (first {{ shown }} of
{{ total_findings }}; all are in the JSON){% endif %}</h2>
<table><thead><tr><th>severity</th><th>place</th><th>column</th><th>code</th>
<th>what</th><th>suggested fix</th></tr></thead><tbody>
{% for f in findings %}<tr><td class="{{ f.severity }}">{{ f.severity }}</td>
<td>{{ f.file }}{% if f.line %}:{{ f.line }}{% endif %}</td><td>{{ f.column or "" }}</td>
<td><code>{{ f.code }}</code></td><td>{{ f.message }}</td><td class="fix">{{ f.fix }}</td></tr>
{% endfor %}</tbody></table>
<p class="muted">Rows that cannot be migrated are listed with the reason in
<code>quarantine.csv</code> beside this page.</p>
</body></html>
"""


def render_html(result: AuditResult, *, name: str, generated: str) -> str:
    """The audit page as one self-contained HTML document."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_TEMPLATE)
    data = result.to_json()
    order = {"error": 0, "warning": 1, "info": 2}
    findings = sorted(data["findings"], key=lambda f: order.get(f["severity"], 3))
    codes: Counter[str] = Counter(data["totals"]["by_code"])
    return template.render(
        name=name,
        profile=result.profile,
        generated=generated,
        totals=data["totals"],
        quarantined=data["quarantined"],
        objects=data["objects"],
        files=data["files"],
        codes=codes.most_common(),
        duplicates=data["duplicates"],
        findings=findings[:HTML_FINDINGS],
        shown=min(len(findings), HTML_FINDINGS),
        total_findings=len(findings),
    )


def write_html(result: AuditResult, path: Path, *, name: str, generated: str) -> Path:
    """Write ``audit.html``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result, name=name, generated=generated), encoding="utf-8")
    return path


def load_expected(path: Path) -> dict[str, int]:
    """Read the practice's own counts: JSON ``{"patients": 1200}`` or CSV ``object,count``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if path.suffix.lower() == ".json":
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object of object name -> count")
        counts: dict[str, int] = {}
        for name, count in data.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ConfigError(f"{path}: the count for {name!r} is not a whole number")
            counts[str(name)] = count
        return counts
    counts = {}
    for number, cells in enumerate(csv.reader(text.splitlines()), start=1):
        if not cells or not "".join(cells).strip():
            continue
        if len(cells) < 2:
            raise ConfigError(f"{path}:{number}: expected two columns, object and count")
        name, raw = cells[0].strip(), cells[1].strip().replace(",", "")
        if not raw.isdigit():
            if number == 1:
                continue  # a header row
            raise ConfigError(f"{path}:{number}: the count is not a whole number")
        counts[name] = int(raw)
    return counts
