"""FHIR R4 resources of the registry, as plain JSON-ready dicts: the Patient, a Procedure for each block and treatment
(its code naming the treatment's kind), an Observation for each pain score (LOINC 72514-3, 0-10 numeric rating), a
QuestionnaireResponse for each survey, with the one Questionnaire they answer, and an AdverseEvent for each adverse
event, pointing to the Procedure it is recorded on. The tests validate every one with fhir.resources' R4B models.

One place builds them: `histories_load` reads the records of a list of patients in a fixed number of queries and
`history_resources` turns one patient's records into resources, row by row. `$everything` (one patient, a Bundle)
and `fhir_bulk_export` (every patient, chunk by chunk, NDJSON files) both go through those two.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO, cast

from django.conf import settings
from django.db.models import Exists, Field, OuterRef, Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils.html import escape

from apps.adverse_events.models import AdverseEvent
from apps.audit.models import Action, Category
from apps.audit.services import access_record
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.clinic.replica import read_snapshot
from apps.clinic.rules import clinic_days_q
from apps.cryoablations.models import KIND_DETAILS, Cryoablation
from apps.instruments.models import InstrumentAnswer, InstrumentVersion
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient, Sex
from apps.surveys.models import SurveyResponse

LOINC = "http://loinc.org"
PAIN_SEVERITY = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
GENDER: dict[str, str] = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other", Sex.UNKNOWN: "unknown"}
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# The follow-up survey's questions: linkId = the SurveyResponse field, so an answer maps back to its column.
SURVEY_ITEMS = [
    ("pain_average", "Average pain over the past 24 hours (0 = no pain, 10 = worst imaginable)", "integer"),
    ("pain_current", "Pain right now (0-10)", "integer"),
    ("pain_worst", "Worst pain over the past 24 hours (0-10)", "integer"),
    ("percent_relief", "Relief since the procedure (%)", "integer"),
    ("pgic", "Patient Global Impression of Change (1 = very much improved ... 7 = very much worse)", "integer"),
]
SURVEY_TEXT = {link_id: text for link_id, text, _ in SURVEY_ITEMS}
SURVEY_PAIN_FIELDS = ("pain_average", "pain_current", "pain_worst")


def base_url() -> str:
    return f"{settings.SITE_URL}/fhir"


def questionnaire_url() -> str:
    return f"{base_url()}/Questionnaire/follow-up-survey"


# The registry's own code systems, under the same address as its Questionnaire (README, "FHIR R4"): their codes are
# the registry's own (cryoablations.models.Kind, adverse_events.models.Category and Relatedness). No SNOMED CT concept
# was found, in a terminology source, that names each of these nerve treatments exactly (cryoneurolysis, conventional,
# cooled and pulsed radiofrequency, temporary and implanted peripheral nerve stimulation), so none is guessed.
def code_system_url(name: str) -> str:
    return f"{base_url()}/CodeSystem/{name}"


TREATMENT_KIND = "treatment-kind"
ADVERSE_EVENT_CATEGORY = "adverse-event-category"
ADVERSE_EVENT_RELATEDNESS = "adverse-event-relatedness"
# The opioids of apps.medications.models.Opioid, by the registry's own codes: RxNorm has a code for each ingredient,
# but none was checked against a terminology source here, so none is guessed.
OPIOID = "opioid"
UCUM = "http://unitsofmeasure.org"
# A daily dose's unit in UCUM: mg a day, or mcg an hour for a fentanyl patch (apps.medications.models.dose_unit).
DOSE_UCUM = {"mg/day": "mg/d", "mcg/h": "ug/h"}
# An instrument's score without a code in a terminology (PEG-3: no LOINC code for its score was found in a
# terminology source): the registry's own code system, its codes the instruments' codes. The shipped definitions carry
# LOINC's where one was found (apps/instruments/definitions/*.json, scoring.score_code): PHQ-2 total score 55758-7
# ("Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]", as LOINC-derived records name it) and GAD-2
# total score 70272-0 (beside GAD-7's 70274-6 in a published LOINC mapping of the PHQ family).
INSTRUMENT_SCORE = "instrument-score"
# FHIR's own code systems for AdverseEvent (terminology.hl7.org, as R4B's AdverseEvent binds them).
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"  # mild, moderate, severe
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
SERIOUSNESS = {True: ("serious", "Serious"), False: ("non-serious", "Non-serious")}
OUTCOME = {True: ("resolved", "Resolved"), False: ("ongoing", "Ongoing")}


def coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def ref(resource_type: str, obj) -> dict:
    return {"reference": f"{resource_type}/{obj.public_id}"}


def questionnaire() -> dict:
    return {
        "resourceType": "Questionnaire",
        "id": "follow-up-survey",
        "url": questionnaire_url(),
        "name": "FollowUpSurvey",
        "title": "Pain follow-up survey",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {
                "linkId": link_id,
                "text": text,
                "type": kind,
                **({"code": [PAIN_SEVERITY]} if link_id.startswith("pain_") else {}),
            }
            for link_id, text, kind in SURVEY_ITEMS
        ],
    }


def patient_resource(patient: Patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(patient.public_id),
        "identifier": [{"system": f"{settings.SITE_URL}/mrn", "value": patient.mrn}],
        "active": patient.is_active,
        "name": [{"family": patient.last_name, "given": [patient.first_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": patient.language}]}}],
    }
    telecom = []
    if patient.mobile_phone:
        telecom.append({"system": "sms", "value": patient.mobile_phone, "use": "mobile"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    return resource


def _body_site(nerve, side: str) -> list[dict]:
    return [{"text": f"{nerve.name}, {side}"}]


def block_procedure(block: DiagnosticBlock) -> dict:
    resource = {
        "resourceType": "Procedure",
        "id": str(block.public_id),
        "status": "completed",
        "category": {"text": "Diagnostic nerve block"},
        "code": {"text": f"Diagnostic block of the {block.nerve.name}"},
        "subject": ref("Patient", block.patient),
        "performedDateTime": block.performed_at.isoformat(),
        "bodySite": _body_site(block.nerve, block.side),
    }
    if block.notes:
        resource["note"] = [{"text": block.notes}]
    return resource


def treatment_details_text(treatment: Cryoablation) -> str:
    """The details its kind records (KIND_DETAILS) that were filled in, in words: "Cannula gauge: 18; ..."."""
    parts = []
    for name in KIND_DETAILS.get(treatment.kind, ()):
        value = getattr(treatment, name)
        if value not in (None, ""):
            label = str(cast(Field, Cryoablation._meta.get_field(name)).verbose_name)
            parts.append(f"{label[:1].upper()}{label[1:]}: {value}")
    return "; ".join(parts)


def ablation_procedure(ablation: Cryoablation) -> dict:
    """A treatment of any kind: its code names the kind in the registry's code system (TREATMENT_KIND)."""
    kind = ablation.get_kind_display()
    resource = {
        "resourceType": "Procedure",
        "id": str(ablation.public_id),
        "status": "completed",
        "category": {"text": kind},
        "code": {
            "coding": [{"system": code_system_url(TREATMENT_KIND), "code": ablation.kind, "display": kind}],
            "text": f"{kind} of the {ablation.nerve.name}",
        },
        "subject": ref("Patient", ablation.patient),
        "performedDateTime": ablation.performed_on.isoformat(),
        "bodySite": _body_site(ablation.nerve, ablation.side),
    }
    if ablation.qualifying_block_id:
        resource["reasonReference"] = [ref("Procedure", ablation.qualifying_block)]
    if ablation.complications:
        resource["complication"] = [{"text": ablation.complications}]
    if details := treatment_details_text(ablation):
        resource["note"] = [{"text": details}]
    return resource


def adverse_event_resource(event: AdverseEvent, patient: Patient) -> dict:
    """An adverse event, its suspect entity the Procedure of the treatment or block it is recorded on. FHIR R4B's
    AdverseEvent has no note or resolution date: the narrative carries them, in words."""
    procedure = event.procedure
    category = event.get_category_display()
    seriousness, resolved = SERIOUSNESS[event.serious], OUTCOME[event.resolved_on is not None]
    summary = (
        f"{category}, {event.get_severity_display().lower()}, {seriousness[1].lower()}, "
        f"{event.get_relatedness_display().lower()}; began {event.occurred_on.isoformat()}"
        + (f", resolved {event.resolved_on.isoformat()}" if event.resolved_on else ", not resolved")
        + "."
    )
    narrative = f"<p>{escape(summary)}</p>" + (f"<p>{escape(event.notes)}</p>" if event.notes else "")
    return {
        "resourceType": "AdverseEvent",
        "id": str(event.public_id),
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{narrative}</div>'},
        "actuality": "actual",
        "event": coded(code_system_url(ADVERSE_EVENT_CATEGORY), event.category, category),
        "subject": ref("Patient", patient),
        "date": event.occurred_on.isoformat(),
        "recordedDate": event.created_at.isoformat(),
        "seriousness": coded(AE_SERIOUSNESS, *seriousness),
        "severity": coded(AE_SEVERITY, event.severity, event.get_severity_display()),
        "outcome": coded(AE_OUTCOME, *resolved),
        "suspectEntity": [
            {
                "instance": ref("Procedure", procedure),
                "causality": [
                    {
                        "assessment": coded(
                            code_system_url(ADVERSE_EVENT_RELATEDNESS),
                            event.relatedness,
                            event.get_relatedness_display(),
                        )
                    }
                ],
            }
        ],
    }


def medication_statement_resource(statement: MedicationStatement, patient: Patient) -> dict:
    """An opioid on the patient's list: the opioid, its daily dose as a rate, the period it was taken (no end while
    ongoing)."""
    period = {"start": statement.started_on.isoformat()}
    if statement.stopped_on is not None:
        period["end"] = statement.stopped_on.isoformat()
    return {
        "resourceType": "MedicationStatement",
        "id": str(statement.public_id),
        "status": "active" if statement.stopped_on is None else "completed",
        "medicationCodeableConcept": coded(code_system_url(OPIOID), statement.opioid, statement.get_opioid_display()),
        "subject": ref("Patient", patient),
        "effectivePeriod": period,
        "dateAsserted": statement.created_at.isoformat(),
        "dosage": [
            {
                "text": f"{statement.dose_text}",
                "doseAndRate": [
                    {
                        "rateQuantity": {
                            "value": float(statement.daily_dose),
                            "unit": statement.unit,
                            "system": UCUM,
                            "code": DOSE_UCUM[statement.unit],
                        }
                    }
                ],
            }
        ],
    }


def pain_observation(*, id_: str, patient: Patient, at, score: int, part_of=None, derived_from=None, note="") -> dict:
    resource = {
        "resourceType": "Observation",
        "id": id_,
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [PAIN_SEVERITY], "text": "Pain severity (0-10)"},
        "subject": ref("Patient", patient),
        "effectiveDateTime": at.isoformat(),
        "valueInteger": score,
    }
    if part_of is not None:
        resource["partOf"] = [part_of]
    if derived_from is not None:
        resource["derivedFrom"] = [derived_from]
    if note:
        resource["note"] = [{"text": note}]
    return resource


def block_observations(block: DiagnosticBlock) -> list[dict]:
    """The pre-block score and each diary entry (uses `diary_entries`: prefetch it)."""
    procedure = ref("Procedure", block)
    observations = [
        pain_observation(
            id_=f"{block.public_id}-baseline",
            patient=block.patient,
            at=block.performed_at,
            score=block.baseline_nrs,
            part_of=procedure,
            note="Pre-block pain",
        )
    ]
    observations += [
        pain_observation(
            id_=f"{block.public_id}-diary-{entry.minutes_after}",
            patient=block.patient,
            at=block.performed_at + timedelta(minutes=entry.minutes_after),
            score=entry.nrs,
            part_of=procedure,
            note=f"Pain diary, {entry.minutes_after} minutes after the injection",
        )
        for entry in block.diary_entries.all()
    ]
    return observations


def ablation_observation(ablation: Cryoablation) -> dict:
    return pain_observation(
        id_=f"{ablation.public_id}-baseline",
        patient=ablation.patient,
        at=ablation.performed_on,
        score=ablation.baseline_nrs,
        part_of=ref("Procedure", ablation),
        note="Pre-procedure pain",
    )


def questionnaire_response(response: SurveyResponse) -> dict:
    """Needs `response.ablation.patient` (histories_load sets it: no query)."""
    items = []
    for link_id, text, _ in SURVEY_ITEMS:
        value = getattr(response, link_id)
        if value is not None:
            items.append({"linkId": link_id, "text": text, "answer": [{"valueInteger": value}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.public_id),
        "questionnaire": questionnaire_url(),
        "status": "completed",
        "subject": ref("Patient", response.ablation.patient),
        "authored": response.completed_at.isoformat(),
        "partOf": [ref("Procedure", response.ablation)],
        "item": items,
    }


def survey_observations(response: SurveyResponse) -> list[dict]:
    derived = ref("QuestionnaireResponse", response)
    patient = response.ablation.patient
    return [
        pain_observation(
            id_=f"{response.public_id}-{field.replace('_', '-')}",  # FHIR ids: letters, digits, "-" and "."
            patient=patient,
            at=response.completed_at,
            score=getattr(response, field),
            derived_from=derived,
            note=SURVEY_TEXT[field],
        )
        for field in SURVEY_PAIN_FIELDS
        if getattr(response, field) is not None
    ]


def instrument_questionnaire_id(version: InstrumentVersion) -> str:
    return f"instrument-{version.instrument.code}-v{version.version}".replace("_", "-")


def instrument_questionnaire(version: InstrumentVersion) -> dict:
    """One version of an instrument as a Questionnaire: its items in English with their answer values (the
    texts in the patient's language, when asked in it, are the definition's; docs/instrument-format.md)."""
    definition = version.read()
    _, texts = definition.texts("en")
    qid = instrument_questionnaire_id(version)
    return {
        "resourceType": "Questionnaire",
        "id": qid,
        "url": f"{base_url()}/Questionnaire/{qid}",
        "version": str(version.version),
        "name": "".join(ch for ch in definition.name.title() if ch.isalnum()) or "Instrument",
        "title": definition.name,
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {
                "linkId": item["id"],
                "text": item["text"],
                "type": "integer",
                "required": True,
                "answerOption": [{"valueInteger": answer["value"]} for answer in item["answers"]],
            }
            for item in texts["items"]
        ],
    }


def instrument_questionnaire_response(answer: InstrumentAnswer, patient: Patient) -> dict:
    """Needs `answer.treatment`, `answer.version` and `answer.instrument` (histories_load selects them)."""
    order = answer.version.read().item_ids
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(answer.public_id),
        "questionnaire": f"{base_url()}/Questionnaire/{instrument_questionnaire_id(answer.version)}",
        "status": "completed",
        "subject": ref("Patient", patient),
        "authored": answer.completed_at.isoformat(),
        "partOf": [ref("Procedure", answer.treatment)],
        "item": [
            {"linkId": item_id, "answer": [{"valueInteger": answer.answers[item_id]}]}
            for item_id in order
            if item_id in answer.answers
        ],
    }


def instrument_score_observation(answer: InstrumentAnswer, patient: Patient) -> dict:
    """The score, with the version of the definition it was scored by (and a T-score's standard error)."""
    score_code = answer.version.read().score_code
    name = answer.instrument.name
    if score_code is not None:
        code = {"coding": [score_code], "text": f"{name} score"}
    else:
        code = coded(code_system_url(INSTRUMENT_SCORE), answer.instrument.code, f"{name} score")
    note = f"Scored by {name} version {answer.version.version}"
    if answer.standard_error is not None:
        note += f"; standard error {answer.standard_error.normalize():f}"
    return {
        "resourceType": "Observation",
        "id": f"{answer.public_id}-score",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": code,
        "subject": ref("Patient", patient),
        "effectiveDateTime": answer.completed_at.isoformat(),
        "valueQuantity": {"value": float(answer.score_decimal), "unit": "{score}", "system": UCUM, "code": "{score}"},
        "derivedFrom": [ref("QuestionnaireResponse", answer)],
        "partOf": [ref("Procedure", answer.treatment)],
        "note": [{"text": note + "."}],
    }


# What went wrong, for a FHIR client: the FHIR issue-type code of each HTTP error status the endpoints answer.
ISSUE_TYPE_OF_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    415: "not-supported",
    429: "throttled",
}


def operation_outcome(*, status: int, diagnostics: str) -> dict:
    """An error as FHIR answers it. `diagnostics` says what is wrong for the caller; never PHI."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": ISSUE_TYPE_OF_STATUS.get(status, "exception"), "diagnostics": diagnostics}
        ],
    }


# ---------------------------------------------------------------------------------------------------------------
# Reading the records: a list of patients at a time, in a fixed number of queries


@dataclass(frozen=True)
class Period:
    """Which records: blocks and ablations performed, and survey answers completed, from `date_from` to `date_to`
    (both included, days in the clinic's time zone). Open ends take everything on that side."""

    date_from: date | None = None
    date_to: date | None = None

    def filter(self, *, at: str = "", on: str = "") -> Q:
        """A Q on the datetime field `at` (by the clinic's days) or the date field `on`."""
        q = clinic_days_q(at, self.date_from, self.date_to) if at else Q()
        if on:
            if self.date_from:
                q &= Q(**{f"{on}__gte": self.date_from})
            if self.date_to:
                q &= Q(**{f"{on}__lte": self.date_to})
        return q

    def to_json(self) -> dict:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }


WHOLE_HISTORY = Period()


@dataclass
class History:
    """One patient's records, in the order their resources are written: by date, then by id."""

    patient: Patient
    blocks: list[DiagnosticBlock] = field(default_factory=list)
    ablations: list[Cryoablation] = field(default_factory=list)
    responses: list[SurveyResponse] = field(default_factory=list)
    adverse_events: list[AdverseEvent] = field(default_factory=list)
    medications: list[MedicationStatement] = field(default_factory=list)
    instrument_answers: list[InstrumentAnswer] = field(default_factory=list)


def histories_load(patients: Iterable[Patient], *, period: Period = WHOLE_HISTORY) -> list[History]:
    """The blocks (with their diary), treatments, survey answers and adverse events of `patients` within `period`, in
    five queries however many patients and records. Every record's patient is set from `patients`: no query per
    row."""
    histories = {patient.pk: History(patient) for patient in patients}
    ids = list(histories)
    blocks = (
        DiagnosticBlock.objects.filter(period.filter(at="performed_at"), patient_id__in=ids)
        .select_related("nerve")
        .prefetch_related(Prefetch("diary_entries", queryset=DiaryEntry.objects.order_by("minutes_after")))
        .order_by("patient_id", "performed_at", "id")
    )
    for block in blocks:
        history = histories[block.patient_id]
        block.patient = history.patient
        history.blocks.append(block)
    ablations = (
        Cryoablation.objects.filter(period.filter(on="performed_on"), patient_id__in=ids)
        .select_related("nerve", "qualifying_block")
        .order_by("patient_id", "performed_on", "id")
    )
    for ablation in ablations:
        history = histories[ablation.patient_id]
        ablation.patient = history.patient
        history.ablations.append(ablation)
    responses = (
        SurveyResponse.objects.filter(period.filter(at="completed_at"), ablation__patient_id__in=ids)
        .select_related("ablation")
        .order_by("ablation__patient_id", "completed_at", "id")
    )
    for response in responses:
        history = histories[response.ablation.patient_id]
        response.ablation.patient = history.patient
        history.responses.append(response)
    events = (
        adverse_events_of(ids)
        .filter(period.filter(on="occurred_on"))
        .select_related("treatment", "block")
        .order_by("of_patient", "occurred_on", "id")
    )
    for event in events:
        histories[event.of_patient].adverse_events.append(event)
    statements = MedicationStatement.objects.filter(period.filter(on="started_on"), patient_id__in=ids).order_by(
        "patient_id", "started_on", "id"
    )
    for statement in statements:
        histories[statement.patient_id].medications.append(statement)
    answers = list(
        InstrumentAnswer.objects.filter(period.filter(at="completed_at"), treatment__patient_id__in=ids)
        .select_related("treatment", "instrument")
        .order_by("treatment__patient_id", "completed_at", "id")
    )
    # Each version (and its definition) read and parsed once, not once per answer.
    versions = InstrumentVersion.objects.select_related("instrument").in_bulk({a.version_id for a in answers})
    for answer in answers:
        answer.version = versions[answer.version_id]
        histories[answer.treatment.patient_id].instrument_answers.append(answer)
    return list(histories.values())


def adverse_events_of(patient_ids: list[int]):
    """The adverse events on the treatments and blocks of these patients, each with `of_patient`, its patient's id."""
    # Through the patients' treatments and blocks, each side on its own index (not an OR across the joined tables).
    return AdverseEvent.objects.filter(
        Q(treatment__in=Cryoablation.objects.filter(patient_id__in=patient_ids).values("pk"))
        | Q(block__in=DiagnosticBlock.objects.filter(patient_id__in=patient_ids).values("pk"))
    ).annotate(of_patient=Coalesce("treatment__patient_id", "block__patient_id"))


def history_resources(history: History) -> Iterator[dict]:
    """The resources of one patient's records (not the Questionnaire: one for all, see `questionnaire`)."""
    yield patient_resource(history.patient)
    for block in history.blocks:
        yield block_procedure(block)
        yield from block_observations(block)
    for ablation in history.ablations:
        yield ablation_procedure(ablation)
        yield ablation_observation(ablation)
    for response in history.responses:
        yield questionnaire_response(response)
        yield from survey_observations(response)
    for event in history.adverse_events:
        yield adverse_event_resource(event, history.patient)
    for statement in history.medications:
        yield medication_statement_resource(statement, history.patient)
    for answer in history.instrument_answers:
        yield instrument_questionnaire_response(answer, history.patient)
        yield instrument_score_observation(answer, history.patient)


def instrument_questionnaires(histories: Iterable[History]) -> list[dict]:
    """The Questionnaire of each instrument version the histories' answers were given to, once each."""
    versions = {a.version_id: a.version for h in histories for a in h.instrument_answers}
    return [instrument_questionnaire(versions[pk]) for pk in sorted(versions)]


# Compact UTF-8 JSON, as both the Bundle and the NDJSON files are written.
JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def patient_everything_json(patient: Patient) -> str:
    """The `$everything` Bundle of a patient as JSON text, in a fixed number of queries however long the history.

    Each entry is encoded as soon as it is built, so its dicts die young: a long history (1,000 resources, some
    15,000 dicts and lists) held whole until the end would be promoted to the collector's oldest generation and
    set off full collections, which made every few requests several times slower than the others."""
    [history] = histories_load([patient])
    resources = history_resources(history)
    if history.responses:
        resources = itertools.chain(resources, [questionnaire()])
    resources = itertools.chain(resources, instrument_questionnaires([history]))
    prefix = f"{base_url()}/"
    entries = [
        JSON_ENCODER.encode(
            {
                "fullUrl": f"{prefix}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match" if r["resourceType"] != "Questionnaire" else "include"},
            }
        )
        for r in resources
    ]
    return f'{{"resourceType":"Bundle","type":"searchset","total":{len(entries)},"entry":[{",".join(entries)}]}}'


# ---------------------------------------------------------------------------------------------------------------
# Bulk export: NDJSON files in the FHIR Bulk Data layout

# Patients read per round: 8 queries per round (patients, blocks, diary, treatments, answers, adverse events, opioid
# statements, instrument answers); the
# memory held is one round's records and resources, whatever the size of the registry.
EXPORT_CHUNK_PATIENTS = 500
EXPORT_RESOURCE_TYPES = (
    "Patient",
    "Procedure",
    "Observation",
    "QuestionnaireResponse",
    "Questionnaire",
    "AdverseEvent",
    "MedicationStatement",
)
EXPORT_ACTOR = "system:command:export_fhir"


class ExportError(Exception):
    """The export could not start or finish; nothing was written in the folder."""


@dataclass
class ExportResult:
    directory: Path
    period: Period
    counts: dict[str, int]
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def export_patients(period: Period):
    """The patients an export covers: all of them, or those with a block, treatment, answer or adverse event in
    `period`."""
    patients = Patient.objects.all()
    if period == WHOLE_HISTORY:
        return patients
    in_period = (
        Exists(DiagnosticBlock.objects.filter(period.filter(at="performed_at"), patient=OuterRef("pk")))
        | Exists(Cryoablation.objects.filter(period.filter(on="performed_on"), patient=OuterRef("pk")))
        | Exists(SurveyResponse.objects.filter(period.filter(at="completed_at"), ablation__patient=OuterRef("pk")))
        | Exists(
            AdverseEvent.objects.filter(period.filter(on="occurred_on")).filter(
                Q(treatment__patient=OuterRef("pk")) | Q(block__patient=OuterRef("pk"))
            )
        )
        | Exists(MedicationStatement.objects.filter(period.filter(on="started_on"), patient=OuterRef("pk")))
        | Exists(InstrumentAnswer.objects.filter(period.filter(at="completed_at"), treatment__patient=OuterRef("pk")))
    )
    return patients.filter(in_period)


def export_histories(period: Period, *, chunk_size: int = EXPORT_CHUNK_PATIENTS) -> Iterator[History]:
    """Patient after patient in primary-key order, read `chunk_size` patients at a time (keyset pagination: each
    round is as fast as the first, and no cursor stays open between rounds)."""
    patients = export_patients(period).order_by("pk")
    last = 0
    while True:
        chunk = list(patients.filter(pk__gt=last)[:chunk_size])
        if not chunk:
            return
        last = chunk[-1].pk
        yield from histories_load(chunk, period=period)


class _NDJSONFiles:
    """One temporary file per resource type in the target folder, renamed into place only once all are complete,
    so a failed export leaves neither half files nor a mix of two exports. Files are readable by their owner
    only (they hold PHI)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.temporary: dict[str, Path] = {}
        self.files: dict[str, TextIO] = {}

    def __enter__(self) -> _NDJSONFiles:
        try:
            for resource_type in EXPORT_RESOURCE_TYPES:
                handle, name = tempfile.mkstemp(dir=self.directory, prefix=f".{resource_type}.", suffix=".part")
                self.temporary[resource_type] = Path(name)
                self.files[resource_type] = open(handle, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
        except OSError as error:
            self.discard()
            raise ExportError(f"Cannot write in {self.directory}: {error.strerror or error}.") from error
        return self

    def write(self, resource: dict) -> str:
        resource_type = resource["resourceType"]
        self.files[resource_type].write(JSON_ENCODER.encode(resource) + "\n")
        return resource_type

    def flush(self) -> None:
        """Everything written to disk, still under the temporary names."""
        for file in self.files.values():
            file.flush()
            os.fsync(file.fileno())
            file.close()

    def publish(self) -> None:
        """Rename every file into place (the same folder: each rename is atomic)."""
        for resource_type, path in self.temporary.items():
            path.replace(self.directory / f"{resource_type}.ndjson")
        self.temporary.clear()
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the renames themselves
        finally:
            os.close(descriptor)

    def discard(self) -> None:
        for file in self.files.values():
            file.close()
        for path in self.temporary.values():
            path.unlink(missing_ok=True)
        self.temporary.clear()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.temporary:
            self.discard()


def _export_directory(directory: Path) -> Path:
    """The folder, created if missing; an ExportError saying why it cannot be used."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise ExportError(f"{directory} exists and is not a folder.") from error
    except OSError as error:
        raise ExportError(f"Cannot create the folder {directory}: {error.strerror or error}.") from error
    if not directory.is_dir():
        raise ExportError(f"{directory} is not a folder.")
    return directory


def fhir_bulk_export(
    *,
    directory: Path,
    period: Period = WHOLE_HISTORY,
    actor_label: str = EXPORT_ACTOR,
    chunk_size: int = EXPORT_CHUNK_PATIENTS,
) -> ExportResult:
    """Write <Type>.ndjson in `directory` (one resource per line) for each of EXPORT_RESOURCE_TYPES, a type without
    resources as an empty file: every patient with their records, or with a period the blocks, treatments, answers
    and adverse events in it and the patients they belong to (a reference may then name a record outside the period,
    e.g. the treatment an answer or an adverse event is about). Read in one REPEATABLE READ snapshot, so the files
    agree with each other; one access event (action export) with the counts, written just before the files are
    renamed into place.
    Raises ExportError, leaving no file behind, when the folder cannot be written or the period is backwards."""
    if period.date_from and period.date_to and period.date_from > period.date_to:
        raise ExportError(f"The period starts ({period.date_from}) after it ends ({period.date_to}).")
    directory = _export_directory(Path(directory))
    started = time.perf_counter()
    counts = dict.fromkeys(EXPORT_RESOURCE_TYPES, 0)
    with _NDJSONFiles(directory) as files:
        try:
            with read_snapshot():  # one snapshot for the whole read: the files agree with each other
                versions: dict[int, InstrumentVersion] = {}
                surveys = False
                for history in export_histories(period, chunk_size=chunk_size):
                    surveys = surveys or bool(history.responses)
                    versions.update((a.version_id, a.version) for a in history.instrument_answers)
                    for resource in history_resources(history):
                        counts[files.write(resource)] += 1
                if surveys:
                    counts[files.write(questionnaire())] += 1
                for pk in sorted(versions):
                    counts[files.write(instrument_questionnaire(versions[pk]))] += 1
            files.flush()
        except OSError as error:  # e.g. the disk is full
            raise ExportError(f"Cannot write in {directory}: {error.strerror or error}.") from error
        # Logged before the files appear: if anything fails after this, the log says more left than did, never less.
        # Not inside the snapshot: the access log's hash chain must see the rows written meanwhile.
        access_record(
            action=Action.EXPORT,
            category=Category.CLINICAL,
            actor_label=actor_label,
            object_type="fhir_bulk_export",
            detail={"format": "ndjson", **period.to_json(), "counts": counts},
        )
        files.publish()
    return ExportResult(directory=directory, period=period, counts=counts, seconds=time.perf_counter() - started)
