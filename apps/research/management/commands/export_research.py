from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.research.services import DEFAULT_K, ResearchExportError, research_export


class Command(BaseCommand):
    help = (
        "Write a de-identified dataset of the registry (CSV files, a data dictionary and a de-identification report) "
        "into DIR, a new or empty folder (README: Research export)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", metavar="DIR", type=Path, help="a new or empty folder")
        parser.add_argument(
            "--k",
            type=int,
            default=DEFAULT_K,
            help=f"every age band, sex and site combination shared by at least k patients (default {DEFAULT_K})",
        )

    def handle(self, *args, folder: Path, k: int, **options) -> None:
        try:
            summary = research_export(folder=folder, k=k)
        except ResearchExportError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{summary.exported_patients} patients exported to {folder} ({summary.suppressed_patients} suppressed "
            f"by the k-anonymity check, {summary.without_procedure} without a procedure left out); "
            f"age bands: {summary.band_width}."
        )
