from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.cryoablations.models import Kind


class ImportRun(models.Model):
    """One run of the registry import (docs: data-exchange.md), refused, dry or written, with its counts.

    Kept even when the import is refused or dry: it is the record that the attempt was made. It holds ids and
    counts only, never patient data (a problem's message names a file, line and column, not the cell's value)."""

    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        DRY_RUN = "dry_run", "Checked (dry run), nothing written"
        REFUSED = "refused", "Refused, nothing written"

    # The run's page is reached by this, never by the sequential id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The folder the command read, or the names of the files uploaded (never the upload's internal folder).
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

    @property
    def counts_in_words(self) -> list[str]:
        """The counts as sentences, one per kind of record: what the pages show (the keys are the import's own)."""
        return counts_in_words(self.counts)


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def counts_in_words(counts: dict[str, dict[str, int]]) -> list[str]:
    """Sentences for ImportRun.counts (apps.registry.services._rows_write): a run refused has none."""
    lines = []
    if "patients.csv" in counts:
        c = counts["patients.csv"]
        lines.append(
            f"{_n(c.get('created', 0), 'new patient', 'new patients')}; "
            f"{_n(c.get('matched', 0), 'patient', 'patients')} already in the registry, left as they were."
        )
    if "blocks.csv" in counts:
        c = counts["blocks.csv"]
        lines.append(
            f"{_n(c.get('created', 0), 'new diagnostic block', 'new diagnostic blocks')} with "
            f"{_n(c.get('diary_entries', 0), 'pain diary entry', 'pain diary entries')}; "
            f"{_n(c.get('matched', 0), 'block', 'blocks')} already in the registry."
        )
    if "ablations.csv" in counts:
        c = counts["ablations.csv"]
        created, named, by_rule = c.get("created", 0), c.get("qualifying_named", 0), c.get("qualifying_by_rule", 0)
        lines.append(
            f"{_n(created, 'new cryoablation', 'new cryoablations')}; "
            f"{_n(c.get('matched', 0), 'cryoablation', 'cryoablations')} already in the registry. "
            f"Qualifying block named in the file for {named}, picked by the protocol's rule for {by_rule}, "
            f"none found for {max(created - named - by_rule, 0)}."
        )
    if "treatments.csv" in counts:
        c = counts["treatments.csv"]
        created, named, by_rule = c.get("created", 0), c.get("qualifying_named", 0), c.get("qualifying_by_rule", 0)
        lines.append(
            f"{_n(created, 'new treatment', 'new treatments')} from treatments.csv; "
            f"{_n(c.get('matched', 0), 'treatment', 'treatments')} already in the registry. "
            f"Qualifying block named in the file for {named}, picked by the protocol's rule for {by_rule}, "
            f"none found for {max(created - named - by_rule, 0)}."
        )
    by_kind = counts.get("treatments_by_kind")
    if by_kind:
        # In the order of the kinds (a JSON column keeps no order of its keys); "; " since labels hold commas.
        kinds = "; ".join(f"{kind.label.lower()} {by_kind[kind]}" for kind in Kind if kind in by_kind)
        lines.append(f"New treatments by kind: {kinds}.")
    if "follow_ups" in counts:
        c = counts["follow_ups"]
        lines.append(
            f"{_n(c.get('created', 0), 'follow-up', 'follow-ups')} scheduled, "
            f"{c.get('window_closed_at_import', 0)} of them whose window had closed before the import "
            "(no reminder is sent for those)."
        )
        superseded = c.get("superseded", 0)
        if superseded:
            lines.append(
                f"{_n(superseded, 'follow-up', 'follow-ups')} left out because the treatment was repeated "
                "(no answer counted, no reminder sent)."
            )
    if "survey_responses.csv" in counts:
        c = counts["survey_responses.csv"]
        lines.append(
            f"{_n(c.get('created', 0), 'new survey answer', 'new survey answers')}, "
            f"{c.get('unscheduled', 0)} of them outside every follow-up window; "
            f"{_n(c.get('matched', 0), 'answer', 'answers')} already in the registry."
        )
    if "adverse_events.csv" in counts:
        c = counts["adverse_events.csv"]
        lines.append(
            f"{_n(c.get('created', 0), 'new adverse event', 'new adverse events')} "
            f"({c.get('on_treatments', 0)} after a treatment, {c.get('on_blocks', 0)} after a block, "
            f"{c.get('serious', 0)} serious); {_n(c.get('matched', 0), 'event', 'events')} already in the registry."
        )
    if "medications.csv" in counts:
        c = counts["medications.csv"]
        lines.append(
            f"{_n(c.get('created', 0), 'new opioid statement', 'new opioid statements')}; "
            f"{_n(c.get('matched', 0), 'statement', 'statements')} already in the registry."
        )
    if "instrument_responses.csv" in counts:
        c = counts["instrument_responses.csv"]
        lines.append(
            f"{_n(c.get('created', 0), 'new instrument answer', 'new instrument answers')} (PEG-3, PHQ-2, GAD-2...); "
            f"{_n(c.get('matched', 0), 'answer', 'answers')} already in the registry."
        )
    return lines
