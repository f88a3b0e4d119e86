"""Load an instrument definition file (docs/instrument-format.md), or check one with --check."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.instruments.services import DefinitionError, instrument_definition_load


class _CheckOnly(Exception):
    """Raised after a --check's load, so that its transaction rolls back (the same checks as a real load)."""


class Command(BaseCommand):
    help = "Load an instrument definition (JSON, docs/instrument-format.md); --check validates it without loading."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--check", action="store_true", help="Validate the file only; load nothing.")

    def handle(self, *args, file: Path, check: bool, **options) -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot be read ({error})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"{file}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from None
        try:
            with transaction.atomic():
                version = instrument_definition_load(data=data)
                if check:
                    raise _CheckOnly
        except _CheckOnly:
            self.stdout.write(f"{file}: no problems; {data['name']} version {data['version']} can be loaded.")
            return
        except DefinitionError as error:
            for problem in error.problems:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(
                f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''}: nothing loaded."
            ) from None
        self.stdout.write(
            f"{version.instrument.name} ({version.instrument.code}) version {version.version} loaded; "
            f"asked at: {', '.join(version.instrument.time_points) or 'no time point yet (set it in the admin)'}."
        )
