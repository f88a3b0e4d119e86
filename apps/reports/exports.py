"""The files of a report run: PDF (WeasyPrint, from the dashboard's own templates), CSV (the rows of
data-exchange.md, as `outcomes_report --format csv` prints them) and XLSX (the same rows, one sheet per section).
Every CSV and XLSX cell goes through apps.audit.csvsafe, so nothing is ever read back as a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.template.loader import render_to_string

from apps.audit.csvsafe import safe_cell, xlsx_append

from . import outcomes
from .presentation import dashboard_context

CSS = Path(settings.BASE_DIR) / "static" / "css" / "report-print.css"


def report_sections(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        ("funnel", data["funnel"]),
        ("response", data["response"]),
        ("threshold_bands", data["threshold_bands"]),
        ("durability", data["durability"]),
        ("repeat", data["repeat"]),
        ("adverse_events", data["adverse_events"]),
        ("instruments", data["instruments"]),
        ("opioids", data["opioids"]),
    ]


def report_rows(data: dict[str, Any]):
    """(section name, header, rows) of data-exchange.md's report: a `section` column, the report's version, as_of and
    threshold first. A section with no rows is left out."""
    for name, rows in report_sections(data):
        columns = list(rows[0]) if rows else []
        header = ["section", "version", "as_of", "threshold_percent", *columns]
        body = [
            [name, data["version"], data["as_of"], data["threshold_percent"],
             *["" if row[c] is None else row[c] for c in columns]]
            for row in rows
        ]  # fmt: skip
        yield name, header, body


def report_csv(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for index, (_, header, body) in enumerate(report_rows(data)):
        if index:
            writer.writerow([])
        writer.writerow([safe_cell(h) for h in header])
        for row in body:
            writer.writerow([safe_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def report_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook(write_only=False)
    workbook.remove(cast("Worksheet", workbook.active))  # a new workbook's one sheet
    for name, header, body in report_rows(data):
        sheet = workbook.create_sheet(title=name[:31])
        xlsx_append(sheet, header)
        for row in body:
            xlsx_append(sheet, row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def report_pdf(dashboard: outcomes.Dashboard, *, title: str, context: dict[str, Any]) -> bytes:
    from weasyprint import CSS as WeasyCSS
    from weasyprint import HTML

    html = render_to_string(
        "reports/report_pdf.html",
        # Built by a worker, without a request, so without the pages' context processors: the clinic's name here.
        {**dashboard_context(dashboard, links=False), **context, "title": title, "clinic_name": settings.CLINIC_NAME},
    )
    return HTML(string=html, base_url=settings.SITE_URL).write_pdf(stylesheets=[WeasyCSS(filename=str(CSS))])
