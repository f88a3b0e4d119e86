"""FHIR R4 resources of the registry, as plain JSON-ready dicts: the Patient, a Procedure for each block and ablation,
an Observation for each pain score (LOINC 72514-3, 0-10 numeric rating) and a QuestionnaireResponse for each survey,
with the one Questionnaire they answer. The tests validate every one with fhir.resources' R4B models."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch

from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient, Sex
from apps.surveys.models import SurveyResponse

LOINC = "http://loinc.org"
PAIN_SEVERITY = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other", Sex.UNKNOWN: "unknown"}
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# The follow-up survey's questions: linkId = the SurveyResponse field, so an answer maps back to its column.
SURVEY_ITEMS = [
    ("pain_average", "Average pain over the past 24 hours (0 = no pain, 10 = worst imaginable)", "integer"),
    ("pain_current", "Pain right now (0-10)", "integer"),
    ("pain_worst", "Worst pain over the past 24 hours (0-10)", "integer"),
    ("percent_relief", "Relief since the procedure (%)", "integer"),
    ("pgic", "Patient Global Impression of Change (1 = very much improved ... 7 = very much worse)", "integer"),
]


def base_url() -> str:
    return f"{settings.SITE_URL}/fhir"


def questionnaire_url() -> str:
    return f"{base_url()}/Questionnaire/follow-up-survey"


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


def ablation_procedure(ablation: Cryoablation) -> dict:
    resource = {
        "resourceType": "Procedure",
        "id": str(ablation.public_id),
        "status": "completed",
        "category": {"text": "Cryoablation"},
        "code": {"text": f"Cryoablation of the {ablation.nerve.name}"},
        "subject": ref("Patient", ablation.patient),
        "performedDateTime": ablation.performed_on.isoformat(),
        "bodySite": _body_site(ablation.nerve, ablation.side),
    }
    if ablation.qualifying_block_id:
        resource["reasonReference"] = [ref("Procedure", ablation.qualifying_block)]
    if ablation.complications:
        resource["complication"] = [{"text": ablation.complications}]
    return resource


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


def questionnaire_response(response: SurveyResponse, patient: Patient) -> dict:
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
        "subject": ref("Patient", patient),
        "authored": response.completed_at.isoformat(),
        "partOf": [ref("Procedure", response.ablation)],
        "item": items,
    }


def survey_observations(response: SurveyResponse, patient: Patient) -> list[dict]:
    derived = ref("QuestionnaireResponse", response)
    return [
        pain_observation(
            id_=f"{response.public_id}-{field.replace('_', '-')}",  # FHIR ids: letters, digits, "-" and "."
            patient=patient,
            at=response.completed_at,
            score=getattr(response, field),
            derived_from=derived,
            note=dict((link_id, text) for link_id, text, _ in SURVEY_ITEMS)[field],
        )
        for field in ("pain_average", "pain_current", "pain_worst")
        if getattr(response, field) is not None
    ]


def patient_everything(patient: Patient) -> dict:
    """The `$everything` Bundle of a patient, in a fixed number of queries however long the history."""
    blocks = list(
        DiagnosticBlock.objects.filter(patient=patient)
        .select_related("nerve")
        .prefetch_related(Prefetch("diary_entries", queryset=DiaryEntry.objects.order_by("minutes_after")))
        .order_by("performed_at", "id")
    )
    ablations = list(
        Cryoablation.objects.filter(patient=patient)
        .select_related("nerve", "qualifying_block")
        .order_by("performed_on", "id")
    )
    responses = list(
        SurveyResponse.objects.filter(ablation__patient=patient)
        .select_related("ablation")
        .order_by("completed_at", "id")
    )
    for item in blocks + ablations:
        item.patient = patient  # the references need only its public id: no query per record
    resources = [patient_resource(patient)]
    for block in blocks:
        resources += [block_procedure(block), *block_observations(block)]
    for ablation in ablations:
        resources += [ablation_procedure(ablation), ablation_observation(ablation)]
    if responses:
        resources.append(questionnaire())
    for response in responses:
        resources += [questionnaire_response(response, patient), *survey_observations(response, patient)]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base_url()}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match" if r["resourceType"] != "Questionnaire" else "include"},
            }
            for r in resources
        ],
    }
