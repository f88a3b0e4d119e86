from __future__ import annotations

from pathlib import Path
from typing import cast

from django.core.management.base import BaseCommand, CommandError

from apps.cryoablations.models import Kind
from apps.registry.models import ImportRun
from apps.registry.services import TREATMENTS_BY_KIND, SiteError, import_site_get, registry_import


class Command(BaseCommand):
    help = (
        "Import a registry folder (patients.csv, blocks.csv, treatments.csv or ablations.csv, survey_responses.csv, "
        "adverse_events.csv, medications.csv; docs: data-exchange.md). All or nothing: any problem is listed as "
        "file:line: column: message and nothing is written. A second import of the same files changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and count, then write nothing.")
        parser.add_argument(
            "--site",
            metavar="NAME",
            help="The site new patients are imported into, by name: required in a network of sites (a single "
            "clinic's patients are at its only site).",
        )

    def handle(self, *args, folder: Path, dry_run: bool, site: str | None, **options) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        try:
            chosen = import_site_get(name=site)
        except SiteError as error:
            raise CommandError(f"{error} Use --site NAME.") from error
        result = registry_import(folder=folder, site=chosen, dry_run=dry_run)
        run = cast(ImportRun, result.run)  # every import is recorded, a refused one too
        if result.problems:
            for problem in result.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(result.problems)} problem(s): nothing was imported (import run {run.pk}).")
        verb = "Checked (dry run, nothing written)" if dry_run else "Imported"
        self.stdout.write(f"{verb}: import run {run.pk}")
        for name, counts in result.counts.items():
            if name == TREATMENTS_BY_KIND:
                if counts:
                    figures = "; ".join(f"{kind.label.lower()} {counts[kind]}" for kind in Kind if kind in counts)
                    self.stdout.write(f"  new treatments by kind: {figures}")
                continue
            figures = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items())
            self.stdout.write(f"  {name}: {figures}")
        if result.created_physicians:
            self.stdout.write("  physicians created as inactive accounts: " + ", ".join(result.created_physicians))
