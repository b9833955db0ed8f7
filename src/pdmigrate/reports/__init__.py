"""Reports people can read: HTML (Jinja2, self-contained), CSV and JSON, built from state.db.

* :mod:`.data` – one loader per section; None when the section's data does not exist;
* :mod:`.scan` – rows per source object and fill rates, from one pass over the exports;
* :mod:`.charts` – small inline SVG bar charts;
* :mod:`.csvout` – the shared CSV writer (formula cells neutralised, UTF-8 with BOM);
* :mod:`.html` – the pages (summary, source, owners, plan, sample diff, verification,
  failures, workflows);
* :mod:`.build` – :func:`build_reports`, what ``pdmigrate report`` runs.
"""

from __future__ import annotations

from pdmigrate.reports.build import build_reports
from pdmigrate.reports.csvout import neutralise, render_csv, write_csv

__all__ = ["build_reports", "neutralise", "render_csv", "write_csv"]
