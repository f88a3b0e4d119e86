"""Reading and checking the four CSV files of a registry folder (docs: data-exchange.md), without writing.

Every cell is checked by the model field it lands in (`Field.clean`: choices, NRS ranges, lengths, dates not in
the future...), so the import refuses exactly what a form or a service would; the few rules that live only in a
CheckConstraint or a form are repeated here, named beside the constraint they mirror. Checks that need other rows
(a block's patient, an ablation's qualifying block, a response's ablation) are made once every file is read.
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
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse

PATIENTS, BLOCKS, ABLATIONS, RESPONSES = "patients.csv", "blocks.csv", "ablations.csv", "survey_responses.csv"
FILES = [PATIENTS, BLOCKS, ABLATIONS, RESPONSES]

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
    RESPONSES: {
        "mrn": (Patient, "mrn", True),
        "ablation_id": (Cryoablation, "external_id", True),
        "completed_at": (SurveyResponse, "completed_at", True),
        "pain_average": (SurveyResponse, "pain_average", True),
        "pain_current": (SurveyResponse, "pain_current", False),
        "pain_worst": (SurveyResponse, "pain_worst", False),
        "percent_relief": (SurveyResponse, "percent_relief", False),
        "pgic": (SurveyResponse, "pgic", False),
    },
}
# Cells read as text and checked here (references to other rows or a format of their own), not by Field.clean.
SPECIAL = {"physician", "nerve", "diary", "performed_at", "completed_at", "mrn"}


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


@dataclass
class Parsed:
    """The rows of the four files, cleaned, keyed by their source ids; and every problem found."""

    patients: dict[str, Row] = field(default_factory=dict)  # by mrn
    blocks: dict[str, Row] = field(default_factory=dict)  # by block_id
    ablations: dict[str, Row] = field(default_factory=dict)  # by ablation_id
    responses: list[Row] = field(default_factory=list)
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
        if errors:
            parsed.problem(name, line, column, " ".join(errors))
            ok = False
        values[column] = value
    return values if ok else None


def _special(column: str, raw: str) -> Any:
    if column == "mrn":
        value, errors = _clean_cell(Patient, "mrn", normalize_mrn(raw))
        if errors:
            raise ValidationError(list(errors))
        return value
    if column == "diary":
        return parse_diary(raw)
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


def _check_ablation(values: dict[str, Any], line: int, parsed: Parsed) -> bool:
    ok = True
    # CheckConstraints ablation_cycles_positive and ablation_freeze_positive.
    for column in ("cycles", "freeze_seconds"):
        if values.get(column) is not None and values[column] < 1:
            parsed.problem(ABLATIONS, line, column, "It must be at least 1.")
            ok = False
    return ok


CHECKS = {PATIENTS: _check_patient, BLOCKS: _check_block, ABLATIONS: _check_ablation}
KEYS = {PATIENTS: "mrn", BLOCKS: "block_id", ABLATIONS: "ablation_id"}


def registry_parse(folder: Path) -> Parsed:
    """Read and check the four files on their own (cell by cell, ids unique within a file)."""
    parsed = Parsed()
    _clean_cell.cache_clear()  # the future-date rules depend on today
    for name in FILES:
        seen: dict[Any, int] = {}
        for line, cells in _read(folder, name, parsed):
            values = _clean_row(name, line, cells, parsed)
            check = CHECKS.get(name)
            if values is None or (check and not check(values, line, parsed)):
                if name in KEYS:
                    raw_key = cells.get(KEYS[name], "")
                    parsed.refused.add((name, normalize_mrn(raw_key) if name == PATIENTS else raw_key))
                continue
            if name == RESPONSES:
                key = (values["ablation_id"], values["completed_at"])
                if key in seen:
                    parsed.problem(
                        name, line, "completed_at", f"The same ablation and completion time as line {seen[key]}."
                    )
                    continue
                seen[key] = line
                parsed.responses.append(Row(line, values))
                continue
            key_column = KEYS[name]
            key = values[key_column]
            if key in seen:
                parsed.problem(name, line, key_column, f"“{key}” is already on line {seen[key]}.")
                continue
            seen[key] = line
            target = {PATIENTS: parsed.patients, BLOCKS: parsed.blocks, ABLATIONS: parsed.ablations}[name]
            target[key] = Row(line, values)
    return parsed
