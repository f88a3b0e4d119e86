from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.api.fhir import EXPORT_RESOURCE_TYPES, ExportError, Period, fhir_bulk_export


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"“{value}” is not a date of the form YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = (
        "FHIR R4 bulk export: Patient.ndjson, Procedure.ndjson, Observation.ndjson, QuestionnaireResponse.ndjson, "
        "Questionnaire.ndjson and AdverseEvent.ndjson in DIR (created if missing; files of an earlier export "
        "replaced), one resource a line, as GET /fhir/Patient/{id}/$everything builds them. With --from/--to: the "
        "blocks, treatments, survey answers and adverse events dated in that period (clinic time zone, both days "
        "included) and their patients; without, the whole registry. Logged as one access event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument("--from", dest="date_from", type=_date, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", type=_date, help="last day, YYYY-MM-DD")

    def handle(self, *args, directory: Path, date_from, date_to, **options) -> None:
        try:
            result = fhir_bulk_export(directory=directory, period=Period(date_from=date_from, date_to=date_to))
        except ExportError as error:
            raise CommandError(f"{error} Nothing was exported.") from error
        rate = result.total / result.seconds if result.seconds else 0
        self.stdout.write(
            f"Exported {result.total} resources to {result.directory} in {result.seconds:.1f} s ({rate:,.0f}/s):"
        )
        for resource_type in EXPORT_RESOURCE_TYPES:
            self.stdout.write(f"  {resource_type}.ndjson: {result.counts[resource_type]}")
