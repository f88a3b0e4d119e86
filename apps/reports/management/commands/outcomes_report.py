from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.cryoablations.models import Kind
from apps.reports.exports import report_rows
from apps.reports.outcomes import THRESHOLD_OUT_OF_RANGE, outcomes_compute, threshold_in_range


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"“{value}” is not a date of the form YYYY-MM-DD.") from error


def _threshold(value: str) -> Decimal:
    try:
        threshold = Decimal(value)
    except InvalidOperation as error:
        raise CommandError(f"“{value}” is not a number.") from error
    if not threshold_in_range(threshold):
        raise CommandError(THRESHOLD_OUT_OF_RANGE)
    return threshold


class Command(BaseCommand):
    help = "Print the outcomes report of docs/data-exchange.md (JSON, or the same rows as CSV) on standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--from", dest="date_from", type=_date, help="first block/treatment date, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", type=_date, help="last block/treatment date, YYYY-MM-DD")
        parser.add_argument("--as-of", dest="as_of", type=_date, help="windows closed before this date (today)")
        parser.add_argument("--threshold", type=_threshold, help="positive-block threshold, percent (protocol's)")
        parser.add_argument(
            "--kind", choices=Kind.values, help="only treatments of this kind (the funnel keeps every block)"
        )

    def handle(self, *args, format: str, date_from, date_to, as_of, threshold, kind, **options) -> None:
        report = outcomes_compute(date_from=date_from, date_to=date_to, as_of=as_of, threshold=threshold, kind=kind)
        data = report.to_json()
        if format == "json":
            self.stdout.write(json.dumps(data, indent=2))
            return
        self._csv(data)

    def _csv(self, data: dict) -> None:
        """One CSV table per section, each with a `section` column first, so one file holds the whole report."""
        writer = csv.writer(self.stdout, lineterminator="\n")
        for index, (_, header, body) in enumerate(report_rows(data)):
            if index:
                writer.writerow([])
            writer.writerow(header)
            writer.writerows(body)
