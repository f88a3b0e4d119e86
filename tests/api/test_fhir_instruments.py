"""FHIR R4B: instrument answers as QuestionnaireResponses with the Questionnaire of their definition's version, and
their scores as Observations (LOINC where a code exists for the score, the registry's own code system otherwise), in
$everything and export_fhir; every resource validated with fhir.resources' R4B models."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from apps.instruments.services import instrument_answer_record, instrument_definition_load
from tests.api.test_fhir_treatments_and_adverse_events import everything, resources
from tests.factories import PatientFactory, make_ablation
from tests.instruments.test_scoring import MADE_UP

pytestmark = pytest.mark.django_db


def _answer(treatment, code, answers, days_ago=3):
    return instrument_answer_record(
        treatment=treatment,
        instrument=code,
        completed_at=timezone.now() - dt.timedelta(days=days_ago),
        answers=answers,
        collected_via="link",
    )


def test_answers_and_scores_in_everything_and_the_export(staff_client, tmp_path):
    # given: a PEG-3, a PHQ-2 and a made-up licensed T-score instrument's answers on one treatment
    instrument_definition_load(data=json.loads(MADE_UP.read_text(encoding="utf-8")))
    patient = PatientFactory()
    treatment = make_ablation(patient=patient)
    peg3 = _answer(treatment, "peg3", {"1": 6, "2": 7, "3": 4})
    phq2 = _answer(treatment, "phq2", {"1": 2, "2": 1})
    muf4 = _answer(treatment, "muf4", {"a1": 2, "a2": 2, "a3": 2, "a4": 1})

    # when
    bundle = everything(staff_client, patient)

    # then (each validated by everything())
    responses = resources(bundle, "QuestionnaireResponse")
    peg3_response = responses[str(peg3.public_id)]
    assert peg3_response["questionnaire"].endswith("/Questionnaire/instrument-peg3-v1")
    assert [(i["linkId"], i["answer"][0]["valueInteger"]) for i in peg3_response["item"]] == [
        ("1", 6), ("2", 7), ("3", 4),
    ]  # fmt: skip
    questionnaires = resources(bundle, "Questionnaire")
    assert {"instrument-peg3-v1", "instrument-phq2-v1", "instrument-muf4-v1"} <= set(questionnaires)
    assert [o["valueInteger"] for o in questionnaires["instrument-phq2-v1"]["item"][0]["answerOption"]] == [0, 1, 2, 3]
    observations = resources(bundle, "Observation")
    phq2_score = observations[f"{phq2.public_id}-score"]
    assert phq2_score["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "55758-7",
        "display": "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]",
    }
    assert phq2_score["valueQuantity"]["value"] == 3
    peg3_score = observations[f"{peg3.public_id}-score"]
    assert peg3_score["code"]["coding"][0]["code"] == "peg3"
    assert peg3_score["code"]["coding"][0]["system"].endswith("/fhir/CodeSystem/instrument-score")
    assert peg3_score["valueQuantity"]["value"] == 5.67
    muf4_score = observations[f"{muf4.public_id}-score"]
    assert muf4_score["valueQuantity"]["value"] == 34.8
    assert "standard error 3.1" in muf4_score["note"][0]["text"]

    # and the bulk export writes them, with each Questionnaire once
    call_command("export_fhir", str(tmp_path / "out"))
    exported = {
        kind: [json.loads(line) for line in (tmp_path / "out" / f"{kind}.ndjson").read_text().splitlines()]
        for kind in ("QuestionnaireResponse", "Questionnaire", "Observation")
    }
    for kind, rows in exported.items():
        for row in rows:
            get_fhir_model_class(kind).model_validate(row)
    assert {r["id"] for r in exported["QuestionnaireResponse"]} == {str(a.public_id) for a in (peg3, phq2, muf4)}
    assert sorted(r["id"] for r in exported["Questionnaire"]) == [
        "instrument-muf4-v1", "instrument-peg3-v1", "instrument-phq2-v1",
    ]  # fmt: skip
    assert f"{muf4.public_id}-score" in {r["id"] for r in exported["Observation"]}
