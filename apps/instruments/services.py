"""Writing instrument answers and definitions.

Every way in (the survey link, the staff answers form, the API, the registry import, a shell) records an answer
through instrument_answer_record, which checks it (a known instrument, the treatment of this patient, every answer
in its item's range, enough items for a score) and scores it with the instrument's current version; the database's
constraints hold the rest. Definitions come in through instrument_definition_load (instrument_load and migration
0002); re-scoring with a newer version is instrument_answer_rescore, an admin action recorded in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient

from .definitions import Definition, ScoringError, definition_problems
from .models import CollectedVia, Instrument, InstrumentAnswer, InstrumentVersion

logger = logging.getLogger(__name__)


class DefinitionError(ValueError):
    """A definition file with problems: every one of them, each with its place in the file."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@transaction.atomic
def instrument_definition_load(*, data: Any) -> InstrumentVersion:
    """Load a definition: a new instrument, or a new version of an existing one (its older versions and the scores
    made with them stay). Nothing is written when the definition has any problem (DefinitionError lists them)."""
    problems = definition_problems(data)
    if problems:
        raise DefinitionError(problems)
    definition = Definition(data)
    instrument, created = Instrument.objects.select_for_update().get_or_create(
        code=definition.code, defaults={"name": definition.name, "time_points": definition.time_points}
    )
    latest = instrument.versions.order_by("-version").first()
    if latest is not None and definition.version <= latest.version:
        raise DefinitionError(
            [f"version: {definition.code} already has version {latest.version}; a new version must be above it"]
        )
    if not created and instrument.name != definition.name:
        instrument.name = definition.name
        instrument.save(update_fields=["name"])
    version = InstrumentVersion.objects.create(
        instrument=instrument, version=definition.version, definition=data, **definition.columns()
    )
    logger.info("instrument %s version %s loaded", instrument.code, version.version)
    return version


def _instrument(code_or_instrument: str | Instrument) -> Instrument:
    if isinstance(code_or_instrument, Instrument):
        return code_or_instrument
    instrument = Instrument.objects.filter(code=code_or_instrument).first()
    if instrument is None:
        raise ValidationError({"instrument": f"Unknown instrument {code_or_instrument!r}."})
    return instrument


def _current_version(instrument: Instrument) -> InstrumentVersion:
    version = instrument.versions.order_by("-version").first()
    if version is None:
        raise ValidationError({"instrument": f"{instrument.name} has no definition loaded."})
    return version


def _answers(raw: Any) -> dict[str, int]:
    """{item id: value} from what a page, the API or the import gives: ids as text, values as whole numbers."""
    if not isinstance(raw, dict) or not raw:
        raise ValidationError({"answers": "Give the answers as item and value."})
    answers: dict[str, int] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[f"answers.{key}"] = f"{value!r} is not a whole number."
        else:
            answers[str(key)] = value
    if errors:
        raise ValidationError(errors)
    return answers


@transaction.atomic
def instrument_answer_record(
    *,
    treatment: Cryoablation,
    instrument: str | Instrument,
    completed_at: dt.datetime,
    answers: dict[str, Any],
    collected_via: str,
    patient: Patient | None = None,
    language: str = "en",
    recorded_by: User | None = None,
) -> InstrumentAnswer:
    """Record a patient's complete answers to an instrument about a treatment, scored with its current version.

    ValidationError names the field: `instrument` (unknown), `treatment` (of another patient than `patient`),
    `answers.<item>` (out of range, or missing where the scoring needs it), `completed_at`, `collected_via`."""
    if patient is not None and treatment.patient_id != patient.pk:
        raise ValidationError({"treatment": "This treatment is not one of this patient's."})
    if collected_via not in CollectedVia.values:
        raise ValidationError({"collected_via": f"Unknown way of collecting {collected_via!r}."})
    found = _instrument(instrument)
    version = _current_version(found)
    values = _answers(answers)
    try:
        score = version.read().score(values)
    except ScoringError as error:
        raise ValidationError(error.errors) from None
    answer = InstrumentAnswer(
        treatment=treatment,
        instrument=found,
        version=version,
        completed_at=completed_at,
        answers=values,
        language=language if language in version.languages else "en",
        score_total=score.total,
        score_items=score.items,
        standard_error=score.standard_error,
        collected_via=collected_via,
        recorded_by=recorded_by,
    )
    answer.full_clean(exclude=["treatment", "instrument", "version", "recorded_by"])
    if InstrumentAnswer.objects.filter(treatment=treatment, instrument=found, completed_at=completed_at).exists():
        raise ValidationError({"completed_at": f"This treatment already has a {found.name} completed at that time."})
    answer.save()
    logger.info("instrument answer %s recorded", answer.public_id)
    return answer


@transaction.atomic
def instrument_answer_rescore(*, answer: InstrumentAnswer, version: InstrumentVersion | None = None) -> bool:
    """Score an answer again with `version` (default: its instrument's current one), keeping the new version with
    the score. An explicit action (the admin's), recorded by the audit trail's history of the answer. False when
    the answer already has that version; ValidationError when its answers cannot be scored by it."""
    version = version or _current_version(answer.instrument)
    if version.instrument_id != answer.instrument_id:
        raise ValidationError({"version": "A version of another instrument."})
    if version.pk == answer.version_id:
        return False
    try:
        score = version.read().score(answer.answers)
    except ScoringError as error:
        raise ValidationError(error.errors) from None
    answer.version = version
    answer.score_total = score.total
    answer.score_items = score.items
    answer.standard_error = score.standard_error
    answer.save(update_fields=["version", "score_total", "score_items", "standard_error"])
    logger.info("instrument answer %s re-scored with version %s", answer.public_id, version.version)
    return True


class InstrumentAnswerError(Exception):
    """instrument_answer_record refused an instrument's answers (the instrument and its ValidationError): nothing of
    the submit was written."""

    def __init__(self, instrument: Instrument, error: ValidationError):
        super().__init__(f"{instrument.code}: {error}")
        self.instrument = instrument
        self.error = error


def instruments_record(
    *,
    treatment: Cryoablation,
    instruments: Iterable[tuple[Instrument, dict[str, int]]],
    completed_at: dt.datetime,
    collected_via: str,
    language: str = "en",
    recorded_by: User | None = None,
) -> list[InstrumentAnswer]:
    """Each instrument's answers through instrument_answer_record, inside the caller's transaction (the pain answer
    and the instruments of one submit are written together or not at all); InstrumentAnswerError names the
    instrument refused."""
    recorded = []
    for instrument, values in instruments:
        try:
            recorded.append(
                instrument_answer_record(
                    treatment=treatment,
                    instrument=instrument,
                    completed_at=completed_at,
                    answers=values,
                    collected_via=collected_via,
                    language=language,
                    recorded_by=recorded_by,
                )
            )
        except ValidationError as error:
            raise InstrumentAnswerError(instrument, error) from None
    return recorded


@transaction.atomic
def baseline_answers_record(
    *,
    treatment: Cryoablation,
    instruments: Iterable[tuple[Instrument, dict[str, int]]],
    completed_at: dt.datetime,
    recorded_by: User | None = None,
) -> list[InstrumentAnswer]:
    """Staff's "Baseline questionnaires" form: the instruments taken at the treatment visit, all written or none."""
    return instruments_record(
        treatment=treatment,
        instruments=instruments,
        completed_at=completed_at,
        collected_via=CollectedVia.STAFF,
        recorded_by=recorded_by,
    )
