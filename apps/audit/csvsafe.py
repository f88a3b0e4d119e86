"""The one rule for every CSV and XLSX cell the project writes: text a spreadsheet would run as a formula
(starting with = + - @, tab, carriage return or NUL) gets a leading apostrophe, so it is shown, never evaluated.

Reports and audit exports both call `safe_cell`, `csv_stream` and `xlsx_safe_value`; keep the rule here only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value: Any) -> Any:
    """Numbers, dates and None pass through; text starting like a formula is prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Lines:
    """A file for csv.writer that keeps what it is given, to be joined and handed on a batch at a time."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.write = self.parts.append

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def _safe_rows(rows: Iterable[Iterable[Any]]) -> Iterator[list[Any]]:
    # safe_cell's rule, written out in the comprehension: an export applies it to tens of millions of cells, and a
    # function call per cell costs a quarter of the export's time (benchmarks/bench_audit.py).
    starts = FORMULA_STARTS
    for row in rows:
        yield [("'" + v) if isinstance(v, str) and v.startswith(starts) else v for v in row]


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[Any]], *, batch_rows: int = 1000) -> Iterator[str]:
    """CSV text (UTF-8 once encoded by the response), one header row, then the rows `batch_rows` at a time: memory
    stays flat, and a streamed response writes a few large pieces rather than one small piece per row."""
    lines = _Lines()
    writer = csv.writer(lines)
    writer.writerow([safe_cell(h) for h in header])
    yield lines.take()
    safe = _safe_rows(rows)
    while True:
        writer.writerows(islice(safe, batch_rows))
        text = lines.take()
        if not text:
            return
        yield text


def xlsx_safe_value(value: Any) -> Any:
    """For openpyxl: NUL and other control characters XLSX cannot hold removed, then neutralised like CSV (in that
    order: a control character removed from in front of "=" would otherwise leave a formula)."""
    if isinstance(value, str):
        value = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)
    return safe_cell(value)


def xlsx_append(worksheet, row: Iterable[Any]) -> None:
    """Append a row whose text cells are stored as text: openpyxl would otherwise read "=..." as a formula."""
    values = [xlsx_safe_value(v) for v in row]
    worksheet.append(values)
    for cell in worksheet[worksheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
