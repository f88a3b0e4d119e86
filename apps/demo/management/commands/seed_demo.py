from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.demo.generator import DEFAULT_PATIENTS, DEFAULT_SEED, DEMO_PASSWORD, DEMO_USERS, seed_demo
from apps.patients.models import Patient


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--today must be YYYY-MM-DD, not {value!r}.") from error


class Command(BaseCommand):
    help = (
        "Fill an empty database with synthetic demo data: patients, diagnostic blocks with their pain diaries, "
        "treatments of every kind (repeats among them), follow-ups, survey answers and adverse events, plus the "
        "demo users "
        f"({', '.join(u[0] for u in DEMO_USERS)}; password {DEMO_PASSWORD}). "
        "The same --seed and --today give the same data. A database that already holds patients is left "
        "alone unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS, help="How many patients to add.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed (default 1).")
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="The date every generated date is counted back from (YYYY-MM-DD, default the clinic's today; "
            "not later). Fix it to get the very same data on another day.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Add demo patients even when the database already holds some."
        )

    def handle(self, *args: str, patients: int, seed: int, today: date | None, force: bool, **options: object) -> None:
        if patients < 0:
            raise CommandError("--patients must be 0 or more.")
        existing = Patient.objects.count()
        if existing and not force:
            self.stdout.write(
                f"The database already holds {existing} patients; nothing seeded. Use --force to add demo data anyway."
            )
            return

        def progress(done: int, total: int) -> None:
            if total >= 20_000 and (done % 10_000 < 2_000 or done == total):
                self.stdout.write(f"  {done:,} / {total:,} patients")

        try:
            result = seed_demo(patients=patients, seed=seed, today=today, progress=progress)
        except ValueError as error:
            raise CommandError(str(error)) from error
        counts = result.counts
        span = f" ({result.first_mrn}..{result.last_mrn})" if result.first_mrn else ""
        self.stdout.write(
            self.style.SUCCESS(f"Seeded demo data (seed {seed}) in {result.seconds:.1f} s:")
            + f"\n  patients          {counts['patients']:>10,}{span}"
            f"\n  blocks            {counts['blocks']:>10,}"
            f"\n  diary entries     {counts['diary']:>10,}"
            f"\n  treatments        {counts['ablations']:>10,}"
            f"\n  follow-ups        {counts['follow_ups']:>10,}"
            f"\n  survey responses  {counts['responses']:>10,}"
            f"\n  adverse events    {counts['adverse_events']:>10,}"
            f"\n  opioid statements {counts['medications']:>10,}"
            f"\n  users created     {counts['users created']:>10,} (password {DEMO_PASSWORD})"
        )
        if result.survey_open_mrn:
            self.stdout.write(
                f"A survey open today: patient {result.survey_open_mrn}. Its invitation e-mail, link included, "
                "is printed by the worker; or on the patient's page press Send now, or Copy link for a new link."
            )
