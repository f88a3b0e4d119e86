"""Reading and checking the CSV files of a registry folder (docs: data-exchange.md), without writing.

Every cell is checked by the model field it lands in (`Field.clean`: choices, NRS ranges, lengths, dates not in
the future...), so the import refuses exactly what a form or a service would; the few rules that live only in a
CheckConstraint or a form are repeated here, named beside the constraint they mirror. Checks that need other rows
(a block's patient, an ablation's qualifying block, a response's ablation) are made once every file is read.

Version 2 (data-exchange.md, "Import, version 2"): `treatments.csv` holds treatments of every kind beside, or instead
of, `ablations.csv` (whose rows are cryoablations); both land in `Parsed.treatments`, whose rows say their file. A
kind's details are those of cryoablations.models.KIND_DETAILS, the one list the forms, the API and the database use.
`medications.csv` holds opioid statements (apps.medications), matched by `statement_id` on a second import.
`instrument_responses.csv` holds instrument answers (apps.instruments), matched by treatment, instrument and
`completed_at` on a second import; each is scored as apps.instruments.services would (the instrument's current
version), and an answer out of range or missing an item is refused on its line.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import User
from apps.adverse_events.models import AdverseEvent
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.cryoablations.models import DETAILS, KIND_DETAILS, Cryoablation, Kind
from apps.instruments.models import Instrument, InstrumentAnswer
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse

PATIENTS, BLOCKS, ABLATIONS, RESPONSES = "patients.csv", "blocks.csv", "ablations.csv", "survey_responses.csv"
TREATMENTS, ADVERSE_EVENTS = "treatments.csv", "adverse_events.csv"
INSTRUMENTS, MEDICATIONS = "instrument_responses.csv", "medications.csv"
FILES_V1 = [PATIENTS, BLOCKS, ABLATIONS, RESPONSES]
# Every file the import reads, in the order it reads them (ablations before treatments: an id in both is named on
# the treatments' line).
FILES = [PATIENTS, BLOCKS, ABLATIONS, TREATMENTS, RESPONSES, ADVERSE_EVENTS, MEDICATIONS, INSTRUMENTS]
# Files a folder may lack: one of ablations.csv and treatments.csv is needed (registry_parse), adverse events,
# opioid statements and instrument answers may be left out.
OPTIONAL = {ABLATIONS, TREATMENTS, ADVERSE_EVENTS, MEDICATIONS, INSTRUMENTS}

# column -> (model field it is stored in, required). Required beyond the contract's own list where the registry
# cannot store a row without the value (a patient's name and date of birth).
COLUMNS: dict[str, dict[str, tuple[type[models.Model], str, bool]]] = {
    PATIENTS: {
        "mrn": (Patient, "mrn", True),
        "first_name": (Patient, "first_name", True),
        "last_name": (Patient, "last_name", True),
        "date_of_birth": (Patient, "date_of_birth", True),
        "sex": (Patient, "sex", False),
        "email": (Patient, "email", False),
        "mobile_phone": (Patient, "mobile_phone", False),
        "preferred_channel": (Patient, "preferred_channel", False),
        "timezone": (Patient, "timezone", False),
    },
    BLOCKS: {
        "block_id": (DiagnosticBlock, "external_id", True),
        "mrn": (Patient, "mrn", True),
        "performed_at": (DiagnosticBlock, "performed_at", True),
        "physician": (DiagnosticBlock, "physician", True),
        "nerve": (DiagnosticBlock, "nerve", True),
        "side": (DiagnosticBlock, "side", True),
        "guidance": (DiagnosticBlock, "guidance", False),
        "drug": (DiagnosticBlock, "drug", False),
        "concentration_percent": (DiagnosticBlock, "concentration_percent", False),
        "volume_ml": (DiagnosticBlock, "volume_ml", False),
        "needle_gauge": (DiagnosticBlock, "needle_gauge", False),
        "baseline_nrs": (DiagnosticBlock, "baseline_nrs", True),
        "diary": (DiagnosticBlock, "diary", False),
    },
    ABLATIONS: {
        "ablation_id": (Cryoablation, "external_id", True),
        "mrn": (Patient, "mrn", True),
        "performed_on": (Cryoablation, "performed_on", True),
        "physician": (Cryoablation, "physician", True),
        "nerve": (Cryoablation, "nerve", True),
        "side": (Cryoablation, "side", True),
        "baseline_nrs": (Cryoablation, "baseline_nrs", True),
        "device": (Cryoablation, "device", False),
        "probe": (Cryoablation, "probe", False),
        "cycles": (Cryoablation, "cycles", False),
        "freeze_seconds": (Cryoablation, "freeze_seconds", False),
        "qualifying_block_id": (DiagnosticBlock, "external_id", False),
    },
    TREATMENTS: {
        "treatment_id": (Cryoablation, "external_id", True),
        "mrn": (Patient, "mrn", True),
        "kind": (Cryoablation, "kind", True),
        "performed_on": (Cryoablation, "performed_on", True),
        "physician": (Cryoablation, "physician", True),
        "nerve": (Cryoablation, "nerve", True),
        "side": (Cryoablation, "side", True),
        "baseline_nrs": (Cryoablation, "baseline_nrs", True),
        "guidance": (Cryoablation, "guidance", False),
        "qualifying_block_id": (DiagnosticBlock, "external_id", False),
        **{name: (Cryoablation, name, False) for name in DETAILS},
    },
    RESPONSES: {
        "mrn": (Patient, "mrn", True),
        # One of the two names the treatment (RESPONSE_TREATMENT_COLUMNS): checked by _read and _check_response.
        "treatment_id": (Cryoablation, "external_id", False),
        "ablation_id": (Cryoablation, "external_id", False),
        "completed_at": (SurveyResponse, "completed_at", True),
        "pain_average": (SurveyResponse, "pain_average", True),
        "pain_current": (SurveyResponse, "pain_current", False),
        "pain_worst": (SurveyResponse, "pain_worst", False),
        "percent_relief": (SurveyResponse, "percent_relief", False),
        "pgic": (SurveyResponse, "pgic", False),
        "new_problem": (SurveyResponse, "new_problem", False),
        "new_problem_text": (SurveyResponse, "new_problem_text", False),
    },
    ADVERSE_EVENTS: {
        "event_id": (AdverseEvent, "external_id", True),
        # Exactly one of the two, checked by _check_adverse_event.
        "treatment_id": (Cryoablation, "external_id", False),
        "block_id": (DiagnosticBlock, "external_id", False),
        "occurred_on": (AdverseEvent, "occurred_on", True),
        "category": (AdverseEvent, "category", True),
        "severity": (AdverseEvent, "severity", True),
        "serious": (AdverseEvent, "serious", True),
        "relatedness": (AdverseEvent, "relatedness", True),
        "resolved_on": (AdverseEvent, "resolved_on", False),
        "notes": (AdverseEvent, "notes", False),
    },
    MEDICATIONS: {
        "statement_id": (MedicationStatement, "external_id", True),
        "mrn": (Patient, "mrn", True),
        "opioid": (MedicationStatement, "opioid", True),
        "daily_dose": (MedicationStatement, "daily_dose", True),
        "started_on": (MedicationStatement, "started_on", True),
        "stopped_on": (MedicationStatement, "stopped_on", False),
    },
    INSTRUMENTS: {
        "mrn": (Patient, "mrn", True),
        "treatment_id": (Cryoablation, "external_id", True),
        "completed_at": (InstrumentAnswer, "completed_at", True),
        # The code of a loaded instrument and its answers: checked against its definition once every file is read.
        "instrument": (Instrument, "code", True),
        "answers": (InstrumentAnswer, "answers", True),
    },
}
RESPONSE_TREATMENT_COLUMNS = ("treatment_id", "ablation_id")
# Cells read as text and checked here (references to other rows or a format of their own), not by Field.clean.
SPECIAL = {
    "physician",
    "nerve",
    "diary",
    "performed_at",
    "completed_at",
    "mrn",
    "new_problem",
    "serious",
    "instrument",
    "answers",
}
# Codes whose refusal lists the codes allowed (a file's author needs them; Django's "not a valid choice" names none).
LISTED_CHOICES = {
    "kind": "kind of treatment",
    "category": "category",
    "severity": "severity",
    "relatedness": "relatedness",
    "opioid": "known opioid",
}
YES_NO = {"yes": True, "no": False}


# The line of a problem about a file as a whole (it is missing): shown as its message alone, which names the file.
WHOLE_FILE = 0


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.line == WHOLE_FILE:
            return self.message
        return f"{self.file}:{self.line}: {self.column}: {self.message}"

    @property
    def location(self) -> str:
        """Where, without what: safe to keep in the import's record (a message may quote a cell; one about a
        whole file names only the file)."""
        if self.line == WHOLE_FILE:
            return self.message
        return f"{self.file}:{self.line}: {self.column}"


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    # The file it came from where two files land together (ablations.csv and treatments.csv), and the column naming
    # its treatment where a file may name it two ways (survey_responses.csv: treatment_id or ablation_id).
    file: str = ""
    treatment_column: str = "treatment_id"


@dataclass
class Parsed:
    """The rows of the files, cleaned, keyed by their source ids; and every problem found."""

    patients: dict[str, Row] = field(default_factory=dict)  # by mrn
    blocks: dict[str, Row] = field(default_factory=dict)  # by block_id
    # by ablation_id or treatment_id; values hold "treatment_id" and "kind" whichever file a row came from
    treatments: dict[str, Row] = field(default_factory=dict)
    responses: list[Row] = field(default_factory=list)  # values hold "treatment_id", whichever column named it
    adverse_events: dict[str, Row] = field(default_factory=dict)  # by event_id
    medications: dict[str, Row] = field(default_factory=dict)  # by statement_id
    instrument_answers: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Ids of rows refused on their own: a reference to one is not reported again as unknown.
    refused: set[tuple[str, str]] = field(default_factory=set)

    def problem(self, file: str, line: int, column: str, message: str) -> None:
        self.problems.append(Problem(file, line, column, message))


def normalize_mrn(raw: str) -> str:
    # The patient form's rule (PatientForm.clean_mrn), so that an imported MRN finds the same patient.
    return raw.strip().upper()


@functools.lru_cache(maxsize=65_536)
def _clean_cell(model: type[models.Model], field_name: str, raw: str) -> tuple[Any, tuple[str, ...]]:
    """The stored value of a non-empty cell and the field's error messages; cached, since most columns hold few
    distinct values (sides, nerves, scores) and the field's rules do not change during an import."""
    model_field = cast("models.Field[Any, Any]", model._meta.get_field(field_name))
    try:
        return model_field.clean(raw, None), ()
    except ValidationError as error:
        return None, tuple(error.messages)


def parse_when(raw: str) -> dt.datetime:
    """ISO 8601; without an offset it is the clinic's local time (data-exchange.md)."""
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError(f"“{raw}” is not an ISO 8601 date and time, e.g. 2026-03-01T10:30.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


def parse_diary(raw: str) -> list[tuple[int, int]]:
    """`minutes:nrs` entries separated by `;`, e.g. 15:3;30:2. The NRS is checked by DiaryEntry's own field."""
    entries: dict[int, int] = {}
    for part in (p.strip() for p in raw.split(";")):
        if not part:
            continue
        minutes_text, sep, nrs_text = part.partition(":")
        if not sep or not minutes_text.strip().isdigit():
            raise ValidationError(f"“{part}” is not an entry of the form minutes:nrs, e.g. 15:3.")
        minutes = int(minutes_text)
        nrs, errors = _clean_cell(DiaryEntry, "nrs", nrs_text.strip())
        if errors or not nrs_text.strip():
            raise ValidationError(f"At {minutes} minutes: {' '.join(errors) or 'the pain score is missing.'}")
        if minutes in entries:
            raise ValidationError(f"There are two entries at {minutes} minutes.")
        entries[minutes] = nrs
    return sorted(entries.items())


def _read(folder: Path, name: str, parsed: Parsed):
    """The rows of one file as (line, {column: stripped text}); header problems are recorded."""
    path = folder / name
    if not path.is_file():
        if name not in OPTIONAL:
            parsed.problem(name, WHOLE_FILE, "-", f"{name} is missing.")
        return
    known = COLUMNS[name]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            parsed.problem(name, 1, "-", "The file is empty: it needs a header row.")
            return
        except (UnicodeDecodeError, csv.Error) as error:
            parsed.problem(name, 1, "-", f"Not a UTF-8 CSV file ({error}).")
            return
        bad_header = False
        for column in header:
            if column not in known:
                parsed.problem(name, 1, column or "-", "Unknown column: extra columns are not allowed.")
                bad_header = True
            elif header.count(column) > 1:
                parsed.problem(name, 1, column, "The column appears twice.")
                bad_header = True
        for column, (_, _, required) in known.items():
            if required and column not in header:
                parsed.problem(name, 1, column, "Missing column: it is required.")
                bad_header = True
        if name == RESPONSES:
            named = [column for column in RESPONSE_TREATMENT_COLUMNS if column in header]
            if not named:
                parsed.problem(name, 1, "treatment_id", "Missing column: treatment_id (or ablation_id) is required.")
                bad_header = True
            elif len(named) > 1:
                parsed.problem(name, 1, "ablation_id", "Name the treatment in treatment_id or ablation_id, not both.")
                bad_header = True
        if bad_header:
            return
        try:
            for cells in reader:
                line = reader.line_num
                stripped = [cell.strip() for cell in cells]
                if not any(stripped):
                    continue
                if len(cells) != len(header):
                    parsed.problem(name, line, "-", f"The row has {len(cells)} cells; the header has {len(header)}.")
                    continue
                yield line, dict(zip(header, stripped, strict=True))
        except (UnicodeDecodeError, csv.Error) as error:
            parsed.problem(name, reader.line_num, "-", f"Not a UTF-8 CSV file ({error}).")


def _clean_row(name: str, line: int, cells: dict[str, str], parsed: Parsed) -> dict[str, Any] | None:
    """Each cell through its model field; None when any cell is refused (its problems are recorded)."""
    values: dict[str, Any] = {}
    ok = True
    for column, (model, field_name, required) in COLUMNS[name].items():
        raw = cells.get(column, "")
        if raw == "":
            if required:
                parsed.problem(name, line, column, "Required: the cell is empty.")
                ok = False
            values[column] = None
            continue
        if column in SPECIAL:
            try:
                values[column] = _special(column, raw)
            except ValidationError as error:
                parsed.problem(name, line, column, " ".join(error.messages))
                ok = False
            continue
        value, errors = _clean_cell(model, field_name, raw)
        if errors and column in LISTED_CHOICES:
            choices = cast("models.Field[Any, Any]", model._meta.get_field(field_name)).choices or ()
            codes = ", ".join(str(code) for code, _ in choices)
            errors = (f"“{raw}” is not a {LISTED_CHOICES[column]}: one of {codes}.",)
        if errors:
            parsed.problem(name, line, column, " ".join(errors))
            ok = False
        values[column] = value
    return values if ok else None


def parse_answers(raw: str) -> dict[str, int]:
    """`item:value` pairs separated by `;`, e.g. 1:6;2:7;3:5 (data-exchange.md). The values are checked against the
    instrument's items once every file is read."""
    answers: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(";")):
        if not part:
            continue
        item, sep, value = (text.strip() for text in part.partition(":"))
        if not sep or not item or not value.lstrip("-").isdigit():
            raise ValidationError(f"“{part}” is not an answer of the form item:value, e.g. 1:6.")
        if item in answers:
            raise ValidationError(f"Item {item} is answered twice.")
        answers[item] = int(value)
    if not answers:
        raise ValidationError("Required: the cell is empty.")
    return answers


def _special(column: str, raw: str) -> Any:
    if column == "answers":
        return parse_answers(raw)
    if column == "instrument":
        return raw  # resolved against the loaded instruments once every file is read
    if column == "mrn":
        value, errors = _clean_cell(Patient, "mrn", normalize_mrn(raw))
        if errors:
            raise ValidationError(list(errors))
        return value
    if column == "diary":
        return parse_diary(raw)
    if column in ("new_problem", "serious"):
        if raw.lower() not in YES_NO:
            raise ValidationError(f"“{raw}” is not yes or no.")
        return YES_NO[raw.lower()]
    if column in ("performed_at", "completed_at"):
        value = parse_when(raw)
        # The field's own validators (not in the future); Field.clean would refuse a naive value first.
        model = DiagnosticBlock if column == "performed_at" else SurveyResponse
        cast("models.Field[Any, Any]", model._meta.get_field(column)).run_validators(value)
        return value
    if column == "physician":
        # The user form's rule (Django's UsernameField and the username field's validator and length): a username
        # that does not exist becomes an account, so one the user form would refuse is refused here too.
        value, errors = _clean_cell(User, "username", User.normalize_username(raw))
        if errors:
            raise ValidationError(list(errors))
        return value  # resolved against the users once every file is read
    return raw  # nerve: resolved against the catalog once every file is read


def _check_patient(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    ok = True
    phone = values.get("mobile_phone")
    if phone:
        # The patient form's rule (PatientForm.clean_mobile_phone): a number phonenumbers accepts, in E.164.
        try:
            number = phonenumbers.parse(phone, settings.PHONE_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if (
            number is None
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != phone
        ):
            parsed.problem(PATIENTS, line, "mobile_phone", f"“{phone}” is not a valid E.164 number, e.g. +12125550123.")
            ok = False
    # Patient.clean: a reminder channel needs its address.
    probe = Patient(
        preferred_channel=values.get("preferred_channel") or "none",
        email=values.get("email") or "",
        mobile_phone=phone or "",
    )
    try:
        probe.clean()
    except ValidationError as error:
        columns = {"email": "email", "mobile_phone": "mobile_phone"}
        for key, messages in error.message_dict.items():
            parsed.problem(PATIENTS, line, columns.get(key, "preferred_channel"), " ".join(messages))
        ok = False
    return ok


def _check_block(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    ok = True
    # CheckConstraints block_volume_positive and block_concentration_range.
    volume, concentration = values.get("volume_ml"), values.get("concentration_percent")
    if volume is not None and volume <= 0:
        parsed.problem(BLOCKS, line, "volume_ml", "It must be more than 0 mL.")
        ok = False
    if concentration is not None and not (0 < concentration <= Decimal(100)):
        parsed.problem(BLOCKS, line, "concentration_percent", "It must be more than 0 and at most 100.")
        ok = False
    return ok


# The details that count something: CheckConstraints ablation_cycles_positive, ablation_freeze_positive and
# treatment_<detail>_positive.
POSITIVE_DETAILS = (
    "cycles",
    "freeze_seconds",
    "cannula_gauge",
    "active_tip_mm",
    "temperature_c",
    "lesion_seconds",
    "lesions",
    "leads",
)


def _details_of_its_kind(line: int, cells: dict[str, str], parsed: Parsed) -> bool:
    """A treatments.csv row fills in only its kind's details (Cryoablation.clean and the constraint
    treatment_details_of_its_kind): read from the cells, so that it is reported beside any other problem of the
    row. An ablations.csv row has only cryoablation's columns."""
    kind = cells.get("kind", "")
    if kind not in KIND_DETAILS:
        return True  # no kind, or an unknown one: reported by the kind's own cell
    ok = True
    for column in DETAILS:
        if cells.get(column, "") and column not in KIND_DETAILS[kind]:
            label = Kind(kind).label.lower()
            parsed.problem(TREATMENTS, line, column, f"Not recorded for {label} ({kind}): leave it empty.")
            ok = False
    return ok


def _check_treatment(name: str, values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    """A treatment of either file (an ablation is a cryoablation): counts at least 1, leads not removed before the
    treatment (treatment_leads_removed_after). Its details are of its kind (_details_of_its_kind)."""
    ok = True
    if name == ABLATIONS:
        values["treatment_id"], values["kind"] = values.pop("ablation_id"), Kind.CRYOABLATION.value
        values["guidance"] = None
    for column in DETAILS:
        values.setdefault(column, None)
    for column in POSITIVE_DETAILS:
        if values[column] is not None and values[column] < 1:
            parsed.problem(name, line, column, "It must be at least 1.")
            ok = False
    removed_on, performed_on = values["removed_on"], values["performed_on"]
    if removed_on is not None and removed_on < performed_on:
        parsed.problem(name, line, "removed_on", f"The leads cannot be removed before the treatment ({performed_on}).")
        ok = False
    return ok


def _check_ablation(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    return _check_treatment(ABLATIONS, values, line, parsed)


def _check_treatment_row(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    return _check_treatment(TREATMENTS, values, line, parsed)


def _check_response(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    """The treatment named in treatment_id or, version 1, ablation_id (held as "treatment_id" from here on); a new
    problem's text only beside a yes."""
    ok = True
    column = values["header_column"]
    values["treatment_id"] = values.pop(column)
    values.pop("ablation_id", None)
    if not values["treatment_id"]:
        parsed.problem(RESPONSES, line, column, "Required: the cell is empty.")
        ok = False
    if values["new_problem_text"] and values["new_problem"] is not True:
        parsed.problem(RESPONSES, line, "new_problem_text", "A new problem is described, but new_problem is not yes.")
        ok = False
    values["new_problem_text"] = values["new_problem_text"] or ""
    return ok


def _check_adverse_event(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    ok = True
    # The constraint adverse_event_on_treatment_or_block.
    if values["treatment_id"] and values["block_id"]:
        parsed.problem(
            ADVERSE_EVENTS, line, "block_id", "Name the treatment or the block the event followed, not both."
        )
        ok = False
    elif not values["treatment_id"] and not values["block_id"]:
        parsed.problem(
            ADVERSE_EVENTS,
            line,
            "treatment_id",
            "Required: name the treatment (treatment_id) or the block (block_id) the event followed.",
        )
        ok = False
    # The constraint adverse_event_resolved_after.
    occurred_on, resolved_on = values["occurred_on"], values["resolved_on"]
    if resolved_on is not None and resolved_on < occurred_on:
        parsed.problem(
            ADVERSE_EVENTS, line, "resolved_on", f"The event cannot be resolved before it began ({occurred_on})."
        )
        ok = False
    values["notes"] = values["notes"] or ""
    return ok


def _check_medication(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    # The constraint medication_stopped_not_before_start (MedicationStatement.clean); the dose above 0 is the
    # field's own validator.
    started_on, stopped_on = values["started_on"], values["stopped_on"]
    if stopped_on is not None and stopped_on < started_on:
        message = f"The stop date cannot be before the start date ({started_on})."
        parsed.problem(MEDICATIONS, line, "stopped_on", message)
        return False
    return True


def _check_instrument_answer(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    return True  # its instrument and answers need the definitions: checked by the services' resolve step


CHECKS = {
    PATIENTS: _check_patient,
    BLOCKS: _check_block,
    ABLATIONS: _check_ablation,
    TREATMENTS: _check_treatment_row,
    RESPONSES: _check_response,
    ADVERSE_EVENTS: _check_adverse_event,
    MEDICATIONS: _check_medication,
    INSTRUMENTS: _check_instrument_answer,
}
KEYS = {
    PATIENTS: "mrn",
    BLOCKS: "block_id",
    ABLATIONS: "ablation_id",
    TREATMENTS: "treatment_id",
    ADVERSE_EVENTS: "event_id",
    MEDICATIONS: "statement_id",
}


def registry_parse(folder: Path) -> Parsed:
    """Read and check the files on their own (cell by cell, ids unique within a file, and a treatment's id in only
    one of ablations.csv and treatments.csv)."""
    parsed = Parsed()
    _clean_cell.cache_clear()  # the future-date rules depend on today
    if not (folder / ABLATIONS).is_file() and not (folder / TREATMENTS).is_file():
        parsed.problem(TREATMENTS, WHOLE_FILE, "-", f"{TREATMENTS} (or {ABLATIONS}, version 1) is missing.")
    for name in FILES:
        seen: dict[Any, int] = {}
        target = {
            PATIENTS: parsed.patients,
            BLOCKS: parsed.blocks,
            ABLATIONS: parsed.treatments,
            TREATMENTS: parsed.treatments,
            ADVERSE_EVENTS: parsed.adverse_events,
            MEDICATIONS: parsed.medications,
        }.get(name)
        for line, cells in _read(folder, name, parsed):
            kind_ok = _details_of_its_kind(line, cells, parsed) if name == TREATMENTS else True
            values = _clean_row(name, line, cells, parsed)
            if values is not None and not kind_ok:
                values = None
            if values is not None and name == RESPONSES:
                values["header_column"] = next(c for c in RESPONSE_TREATMENT_COLUMNS if c in cells)
            check = CHECKS[name]
            if values is None or not check(values, line, parsed):
                if name in KEYS:
                    raw_key = cells.get(KEYS[name], "")
                    parsed.refused.add((name, normalize_mrn(raw_key) if name == PATIENTS else raw_key))
                continue
            if name == INSTRUMENTS:
                key = (values["treatment_id"], values["instrument"], values["completed_at"])
                if key in seen:
                    parsed.problem(
                        name,
                        line,
                        "completed_at",
                        f"The same treatment, instrument and completion time as line {seen[key]}.",
                    )
                    continue
                seen[key] = line
                parsed.instrument_answers.append(Row(line, values, file=name))
                continue
            if name == RESPONSES:
                column = values.pop("header_column")
                key = (values["treatment_id"], values["completed_at"])
                if key in seen:
                    parsed.problem(
                        name, line, "completed_at", f"The same treatment and completion time as line {seen[key]}."
                    )
                    continue
                seen[key] = line
                parsed.responses.append(Row(line, values, file=name, treatment_column=column))
                continue
            key_column = KEYS[name]
            key = values["treatment_id"] if name == ABLATIONS else values[key_column]
            if key in seen:
                parsed.problem(name, line, key_column, f"“{key}” is already on line {seen[key]}.")
                continue
            seen[key] = line
            assert target is not None
            other = target.get(key)
            if other is not None:  # an ablation's id again in treatments.csv
                parsed.problem(
                    name,
                    line,
                    key_column,
                    f"“{key}” is also in {other.file} (line {other.line}): "
                    f"an id may appear in only one of {ABLATIONS} and {TREATMENTS}.",
                )
                continue
            target[key] = Row(line, values, file=name)
    return parsed
