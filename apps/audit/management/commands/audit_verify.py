"""Recompute the audit hash chains: exit 0 if intact, 1 naming the first broken row of each broken table."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.audit.db import verify_chains


class Command(BaseCommand):
    help = "Verify that the access log and change history are intact (hash chain, append-only triggers)."

    def handle(self, *args, **options) -> None:
        problems, heads = verify_chains()
        for table, (rows, last_hash) in heads.items():
            self.stdout.write(f"{table}: {rows} rows, last hash {last_hash or '-'}")
        if problems:
            for problem in problems:
                self.stderr.write(f"BROKEN {problem}")
            raise CommandError(f"audit trail broken: first problem at {problems[0]}", returncode=1)
        self.stdout.write(self.style.SUCCESS("Audit trail intact."))
