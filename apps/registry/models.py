from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportRun(models.Model):
    """One run of the registry import (docs: data-exchange.md), refused, dry or written, with its counts.

    Kept even when the import is refused or dry: it is the record that the attempt was made. It holds ids and
    counts only, never patient data (a problem's message names a file, line and column, not the cell's value)."""

    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        DRY_RUN = "dry_run", "Checked (dry run), nothing written"
        REFUSED = "refused", "Refused, nothing written"

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=255, help_text="The folder or upload the files came from.")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices)
    # {"patients": {"created": n, "matched": n}, "blocks": {...}, ..., "follow_ups": {"created": n, "closed": n}}
    counts = models.JSONField(default=dict)
    problem_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, help_text="The first problems, as file:line: column: message.")
    created_physicians = models.JSONField(default=list, help_text="Usernames of the inactive accounts created.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Registry import of {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"
