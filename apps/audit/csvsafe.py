"""The one rule for every CSV and XLSX cell the project writes: text a spreadsheet would run as a formula
(starting with = + - @, tab, carriage return or NUL) gets a leading apostrophe, so it is shown, never evaluated.

Reports and audit exports both call `safe_cell`, `csv_stream` and `xlsx_safe_value`; keep the rule here only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value: Any) -> Any:
    """Numbers, dates and None pass through; text starting like a formula is prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text line by line (UTF-8 once encoded by the response), one header row: memory stays flat."""
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def xlsx_safe_value(value: Any) -> Any:
    """For openpyxl: neutralised like CSV, and NUL and other control characters XLSX cannot hold removed."""
    value = safe_cell(value)
    if isinstance(value, str):
        value = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)
    return value


def xlsx_append(worksheet, row: Iterable[Any]) -> None:
    """Append a row whose text cells are stored as text: openpyxl would otherwise read "=..." as a formula."""
    values = [xlsx_safe_value(v) for v in row]
    worksheet.append(values)
    for cell in worksheet[worksheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
