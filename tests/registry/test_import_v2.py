"""The registry import, version 2 (data-exchange.md, "Import, version 2"): treatments of every kind, the survey's
new-problem answer, adverse events, the repeat-treatment rule, and files of a later release refused whole."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from apps.adverse_events.models import AdverseEvent, Category, Relatedness, Severity
from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation, FollowUp, Kind, Status
from apps.instruments.models import InstrumentAnswer
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.registry.services import registry_import
from apps.reports.models import FollowUpFact
from apps.surveys.models import SurveyResponse

pytestmark = pytest.mark.django_db

SAMPLE_V2 = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"

PATIENTS = "mrn,first_name,last_name,date_of_birth,sex,email,mobile_phone,preferred_channel,timezone"
BLOCKS = (
    "block_id,mrn,performed_at,physician,nerve,side,guidance,drug,concentration_percent,volume_ml,needle_gauge,"
    "baseline_nrs,diary"
)
TREATMENTS = (
    "treatment_id,mrn,kind,performed_on,physician,nerve,side,baseline_nrs,guidance,qualifying_block_id,"
    "device,probe,cycles,freeze_seconds,cannula_gauge,active_tip_mm,temperature_c,lesion_seconds,lesions,leads,"
    "removed_on"
)
ABLATIONS = (
    "ablation_id,mrn,performed_on,physician,nerve,side,baseline_nrs,device,probe,cycles,freeze_seconds,"
    "qualifying_block_id"
)
RESPONSES = (
    "mrn,treatment_id,completed_at,pain_average,pain_current,pain_worst,percent_relief,pgic,new_problem,"
    "new_problem_text"
)
EVENTS = "event_id,treatment_id,block_id,occurred_on,category,severity,serious,relatedness,resolved_on,notes"

GOOD = {
    "patients.csv": [PATIENTS, "R1,Ana,Diaz,1970-01-02,F,,,none,"],
    "blocks.csv": [
        BLOCKS,
        "K1,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:2",
        "K2,R1,2025-01-05T10:00,dr_new,superior_cluneal,right,ultrasound,lidocaine,2,1,25,8,30:2",
    ],
    "treatments.csv": [
        TREATMENTS,
        "T1,R1,rf_conventional,2025-02-01,dr_new,superior_cluneal,left,8,fluoroscopy,K1,,,,,18,10,80,90,2,,",
        "T2,R1,pns_temporary,2025-03-01,dr_new,superior_cluneal,right,7,,,StimRouter,,,,,,,,,2,2025-04-01",
    ],
    "survey_responses.csv": [
        RESPONSES,
        "R1,T1,2025-03-03T10:00,3,,,,,yes,A numb patch",
        "R1,T2,2025-04-01T10:00,2,,,,,no,",
        "R1,T2,2025-04-02T10:00,2,,,,,,",
    ],
    "adverse_events.csv": [
        EVENTS,
        "E1,T1,,2025-02-10,numbness,mild,no,probable,2025-03-01,A numb patch",
        "E2,,K1,2025-01-02,bleeding,mild,yes,definite,,",
    ],
}


def write(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def with_rows(**extra: list[str]) -> dict[str, list[str]]:
    files = {name: list(lines) for name, lines in GOOD.items()}
    for key, lines in extra.items():
        files[f"{key}.csv"] += lines
    return files


def sample_v2(tmp_path: Path) -> Path:
    """The shared version 2 sample."""
    folder = tmp_path / "sample-v2"
    folder.mkdir()
    for path in SAMPLE_V2.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    return folder


def csv_rows(name: str) -> list[dict[str, str]]:
    with (SAMPLE_V2 / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def state() -> dict[str, object]:
    """Every row the import writes, as a second import must leave it."""
    return {
        "patients": list(Patient.objects.order_by("pk").values_list("pk", "mrn")),
        "blocks": list(DiagnosticBlock.objects.order_by("pk").values_list("pk", "external_id")),
        "treatments": list(Cryoablation.objects.order_by("pk").values_list("pk", "external_id", "kind")),
        "follow_ups": list(
            FollowUp.objects.order_by("pk").values_list("pk", "counted_response_id", "superseded_by_id")
        ),
        "responses": list(
            SurveyResponse.objects.order_by("pk").values_list("pk", "follow_up_id", "new_problem", "new_problem_text")
        ),
        "events": list(AdverseEvent.objects.order_by("pk").values_list("pk", "external_id", "treatment", "block")),
        "statements": list(MedicationStatement.objects.order_by("pk").values_list("pk", "external_id", "daily_dose")),
        "instrument_answers": list(
            InstrumentAnswer.objects.order_by("pk").values_list("pk", "treatment_id", "score_total", "completed_at")
        ),
        "history": [
            model.change_events.rel.related_model.objects.count()
            for model in (Cryoablation, FollowUp, SurveyResponse, AdverseEvent, MedicationStatement, InstrumentAnswer)
        ],
    }


def test_the_v2_sample_imports_with_the_counts_of_its_files(tmp_path):
    # given the shared sample, without instruments and opioids
    folder = sample_v2(tmp_path)
    treatments = csv_rows("treatments.csv")
    # when
    result = registry_import(folder=folder)
    # then every row of every file is in the registry
    assert result.ok, result.problems
    assert Patient.objects.count() == len(csv_rows("patients.csv")) == 60
    assert DiagnosticBlock.objects.count() == len(csv_rows("blocks.csv")) == 118
    assert Cryoablation.objects.count() == len(treatments) == 84
    assert SurveyResponse.objects.count() == len(csv_rows("survey_responses.csv")) == 304
    assert AdverseEvent.objects.count() == len(csv_rows("adverse_events.csv")) == 28
    assert InstrumentAnswer.objects.count() == len(csv_rows("instrument_responses.csv")) == 727
    assert result.counts["instrument_responses.csv"] == {"created": 727, "matched": 0}
    by_kind = Counter(row["kind"] for row in treatments)
    assert result.counts["treatments_by_kind"] == dict(sorted(by_kind.items()))
    assert {k: Cryoablation.objects.filter(kind=k).count() for k in by_kind} == by_kind
    assert result.counts["adverse_events.csv"]["created"] == 28
    assert result.counts["adverse_events.csv"]["on_blocks"] == sum(
        1 for r in csv_rows("adverse_events.csv") if r["block_id"]
    )
    # the new-problem answers as the file gives them; an empty cell is not recorded
    answers = csv_rows("survey_responses.csv")
    assert SurveyResponse.objects.filter(new_problem=True).count() == sum(
        1 for a in answers if a["new_problem"] == "yes"
    )
    assert SurveyResponse.objects.filter(new_problem__isnull=True).count() == sum(
        1 for a in answers if not a["new_problem"]
    )
    assert SurveyResponse.objects.exclude(new_problem_text="").count() == sum(
        1 for a in answers if a["new_problem_text"]
    )
    # the details of each kind, and nothing invented where a cell is empty
    for row in treatments:
        treatment = Cryoablation.objects.get(external_id=row["treatment_id"])
        assert treatment.kind == row["kind"]
        for name in ("cycles", "freeze_seconds", "temperature_c", "lesions", "leads"):
            assert getattr(treatment, name) == (int(row[name]) if row[name] else None), (row["treatment_id"], name)
        assert (treatment.removed_on.isoformat() if treatment.removed_on else "") == row["removed_on"]
        assert treatment.device == row["device"]
    # the summary counts them in plain words
    words = ImportRun.objects.get().counts_in_words
    assert any(line.startswith("New treatments by kind: ") and "pulsed radiofrequency 3;" in line for line in words)
    assert any(line.startswith("28 new adverse events") for line in words)


def test_the_repeat_rule_leaves_out_the_superseded_follow_ups_of_the_sample(tmp_path):
    # when
    registry_import(folder=sample_v2(tmp_path))
    # then the follow-ups superseded are those of the rule's view, none of them counting an answer
    superseded = FollowUp.objects.filter(superseded_by__isnull=False)
    assert superseded.exists()
    assert not superseded.filter(counted_response__isnull=False).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT follow_up_id, superseded_by_id FROM cryoablations_followup_supersession")
        assert set(cursor.fetchall()) == set(superseded.values_list("id", "superseded_by_id"))
    # T00007's 12-month follow-up had answers in its window, yet counts none: T00008 repeated the treatment
    twelve_months = FollowUp.objects.get(ablation__external_id="T00007", time_point="12m")
    assert twelve_months.superseded_by.external_id == "T00008"
    assert SurveyResponse.objects.filter(follow_up=twelve_months).count() == 2
    assert twelve_months.counted_response is None
    # and the reports' facts, kept by the follow-ups' triggers, agree: no superseded time point holds a score
    assert not FollowUpFact.objects.filter(follow_up__superseded_by__isnull=False, pain_average__isnull=False).exists()
    assert FollowUpFact.objects.get(follow_up=twelve_months).counted_response_id is None
    assert twelve_months.status(twelve_months.window_end, completed=False) == Status.SUPERSEDED
    # and a follow-up that is not superseded still counts its last answer
    counted = FollowUp.objects.filter(superseded_by__isnull=True, counted_response__isnull=False)
    assert (
        counted.count()
        == FollowUp.objects.filter(superseded_by__isnull=True, responses__isnull=False).distinct().count()
    )


def test_a_second_import_of_the_v2_sample_changes_nothing(tmp_path):
    # given the sample imported once
    folder = sample_v2(tmp_path)
    call_command("import_registry", str(folder), stdout=io.StringIO())
    before = state()
    # when it is imported again
    out = io.StringIO()
    call_command("import_registry", str(folder), stdout=out)
    # then every row is matched and nothing changed, its change history included
    assert state() == before
    printed = out.getvalue()
    assert "treatments.csv: created 0, matched 84" in printed
    assert "adverse_events.csv: created 0, matched 28" in printed
    assert "medications.csv: created 0, matched 32" in printed
    assert "survey_responses.csv: created 0, matched 304" in printed
    assert "instrument_responses.csv: created 0, matched 727" in printed
    assert "new treatments by kind" not in printed


INSTRUMENTS_HEADER = "mrn,treatment_id,completed_at,instrument,answers"


def test_instrument_answers_import_scored_with_their_version(tmp_path):
    # given two answers on T1, a PEG-3 at baseline and a PHQ-2
    files = with_rows()
    files["instrument_responses.csv"] = [
        INSTRUMENTS_HEADER,
        "R1,T1,2025-01-20T10:00,peg3,1:6;2:7;3:4",
        "R1,T1,2025-01-21T10:00,phq2,1:2;2:1",
    ]
    # when
    result = registry_import(folder=write(tmp_path / "in", files))
    # then
    assert result.ok, result.problems
    peg3, phq2 = InstrumentAnswer.objects.order_by("completed_at")
    assert (peg3.treatment.external_id, peg3.answers, peg3.score_text, peg3.version.version) == (
        "T1",
        {"1": 6, "2": 7, "3": 4},
        "5.67",
        1,
    )
    assert (phq2.instrument.code, phq2.score_text, phq2.collected_via) == ("phq2", "3", "import")


def test_bad_instrument_answers_are_refused_with_their_place_and_nothing_is_written(tmp_path):
    # given
    files = with_rows()
    files["instrument_responses.csv"] = [
        INSTRUMENTS_HEADER,
        "R1,T1,2025-01-20T10:00,peg3,1:6;2:11;3:4",
        "R1,T1,2025-01-21T10:00,phq2,1:2",
        "R1,T1,2025-01-22T10:00,odi,1:2",
        "R1,T9,2025-01-23T10:00,gad2,1:1;2:1",
        "R1,T1,2025-01-24T10:00,gad2,one",
        "R1,T1,2025-01-25T10:00,gad2,1:1;2:1",
        "R1,T1,2025-01-25T10:00,gad2,1:2;2:1",
    ]
    # when
    result = registry_import(folder=write(tmp_path / "in", files))
    # then
    messages = [str(p) for p in result.problems]
    assert sorted(messages) == sorted(
        [
            "instrument_responses.csv:2: answers: 11 is not an answer of item 2 (0 to 10).",
            "instrument_responses.csv:3: answers: Missing: PHQ-2 needs every item answered for a score.",
            "instrument_responses.csv:4: instrument: “odi” is not a loaded instrument: gad2, peg3, phq2.",
            "instrument_responses.csv:5: treatment_id: No treatment T9 in treatments.csv, ablations.csv or the "
            "registry.",
            "instrument_responses.csv:6: answers: “one” is not an answer of the form item:value, e.g. 1:6.",
            "instrument_responses.csv:8: completed_at: The same treatment, instrument and completion time as line 7.",
        ]
    )
    assert not Patient.objects.exists() and not InstrumentAnswer.objects.exists()


def test_the_good_folder_imports_each_kind_its_answers_and_events(tmp_path):
    result = registry_import(folder=write(tmp_path / "in", GOOD))
    assert result.ok, result.problems
    t1, t2 = Cryoablation.objects.get(external_id="T1"), Cryoablation.objects.get(external_id="T2")
    assert (t1.kind, t1.cannula_gauge, t1.temperature_c, t1.lesions, t1.cycles, t1.device) == (
        Kind.RF_CONVENTIONAL,
        18,
        80,
        2,
        None,
        "",
    )
    assert t1.qualifying_block.external_id == "K1" and t1.guidance == "fluoroscopy"
    assert (t2.kind, t2.device, t2.leads, t2.removed_on.isoformat(), t2.qualifying_block.external_id) == (
        Kind.PNS_TEMPORARY,
        "StimRouter",
        2,
        "2025-04-01",
        "K2",
    )
    answer = SurveyResponse.objects.get(ablation=t1)
    assert (answer.new_problem, answer.new_problem_text) == (True, "A numb patch")
    assert list(SurveyResponse.objects.filter(ablation=t2).order_by("completed_at").values_list("new_problem")) == [
        (False,),
        (None,),
    ]
    e1, e2 = AdverseEvent.objects.get(external_id="E1"), AdverseEvent.objects.get(external_id="E2")
    assert (e1.treatment, e1.block, e1.category, e1.severity, e1.serious, e1.relatedness) == (
        t1,
        None,
        Category.NUMBNESS,
        Severity.MILD,
        False,
        Relatedness.PROBABLE,
    )
    assert e1.resolved_on.isoformat() == "2025-03-01" and e1.notes == "A numb patch"
    assert (e2.treatment, e2.block.external_id, e2.serious, e2.resolved_on) == (None, "K1", True, None)
    # recorded in the audit trail like the other imported rows
    assert e1.change_events.filter(pgh_label="insert").count() == 1


BAD_ROWS = [
    ("treatments", "T9,R1,laser,2025-02-01,dr_new,superior_cluneal,left,8,,,,,,,,,,,,,", "kind: “laser” is not a kind"),
    ("treatments", "T9,R1,,2025-02-01,dr_new,superior_cluneal,left,8,,,,,,,,,,,,,", "kind: Required"),
    (
        "treatments",
        "T9,R1,rf_pulsed,2025-02-01,dr_new,superior_cluneal,left,8,,,,,,,22,5,42,120,1,,",
        "temperature_c: Not recorded for pulsed radiofrequency (rf_pulsed): leave it empty.",
    ),
    (
        "treatments",
        "T9,R1,cryoablation,2025-02-01,dr_new,superior_cluneal,left,8,,,,,2,90,,,,,,2,",
        "leads: Not recorded for cryoablation (cryoablation): leave it empty.",
    ),
    (
        "treatments",
        "T9,R1,pns_permanent,2025-02-01,dr_new,superior_cluneal,left,8,,,Dev,27G,,,,,,,,1,",
        "probe: Not recorded for nerve stimulation, implanted (pns_permanent)",
    ),
    (
        "treatments",
        "T9,R1,pns_temporary,2025-02-01,dr_new,superior_cluneal,left,8,,,,,,,,,,,,2,2025-01-31",
        "removed_on: The leads cannot be removed before the treatment (2025-02-01).",
    ),
    ("treatments", "T9,R1,rf_cooled,2025-02-01,dr_new,superior_cluneal,left,8,,,,,,,,,,,0,,", "lesions: It must be"),
    ("treatments", "T9,R1,rf_cooled,2099-02-01,dr_new,superior_cluneal,left,8,,,,,,,,,,,,,", "performed_on: "),
    ("treatments", "T1,R1,rf_cooled,2025-02-01,dr_new,superior_cluneal,left,8,,,,,,,,,,,,,", "treatment_id: “T1” is"),
    ("survey_responses", "R1,T1,2025-03-04T10:00,3,,,,,maybe,", "new_problem: “maybe” is not yes or no."),
    ("survey_responses", "R1,T1,2025-03-05T10:00,3,,,,,no,Itchy", "new_problem_text: A new problem is described"),
    ("survey_responses", "R1,T9,2025-03-06T10:00,3,,,,,,", "treatment_id: No treatment T9 in treatments.csv"),
    ("survey_responses", "R1,,2025-03-06T10:00,3,,,,,,", "treatment_id: Required: the cell is empty."),
    ("adverse_events", "E9,T1,K1,2025-02-10,numbness,mild,no,probable,,", "block_id: Name the treatment or the block"),
    ("adverse_events", "E9,,,2025-02-10,numbness,mild,no,probable,,", "treatment_id: Required: name the treatment"),
    ("adverse_events", "E9,T1,,2025-02-10,rash,mild,no,probable,,", "category: “rash” is not a category: one of"),
    ("adverse_events", "E9,T1,,2025-02-10,numbness,huge,no,probable,,", "severity: “huge” is not a severity"),
    ("adverse_events", "E9,T1,,2025-02-10,numbness,mild,no,perhaps,,", "relatedness: “perhaps” is not a"),
    ("adverse_events", "E9,T1,,2025-02-10,numbness,mild,often,probable,,", "serious: “often” is not yes or no."),
    ("adverse_events", "E9,T1,,2025-02-10,numbness,mild,,probable,,", "serious: Required"),
    (
        "adverse_events",
        "E9,T1,,2025-01-31,numbness,mild,no,probable,,",
        "occurred_on: The event cannot be before its procedure (treatment T1, 2025-02-01).",
    ),
    (
        "adverse_events",
        "E9,,K2,2025-01-04,bleeding,mild,no,definite,,",
        "occurred_on: The event cannot be before its procedure (block K2, 2025-01-05).",
    ),
    (
        "adverse_events",
        "E9,T1,,2025-02-10,numbness,mild,no,probable,2025-02-09,",
        "resolved_on: The event cannot be resolved before it began (2025-02-10).",
    ),
    ("adverse_events", "E9,T9,,2025-02-10,numbness,mild,no,probable,,", "treatment_id: No treatment T9 in"),
    ("adverse_events", "E9,,K9,2025-02-10,numbness,mild,no,probable,,", "block_id: No block K9 in blocks.csv"),
    ("adverse_events", "E1,T1,,2025-02-10,numbness,mild,no,probable,,", "event_id: “E1” is already on line 2."),
]


@pytest.mark.parametrize(
    ("key", "row", "expected"), BAD_ROWS, ids=[f"{k}-{e.split(':')[0]}-{i}" for i, (k, r, e) in enumerate(BAD_ROWS)]
)
def test_each_bad_row_of_version_2_is_named_with_its_line_and_nothing_is_written(tmp_path, key, row, expected):
    # given a good folder with one bad row appended
    files = with_rows(**{key: [row]})
    line = len(files[f"{key}.csv"])
    # when
    result = registry_import(folder=write(tmp_path / "export", files))
    # then that row's problem is listed as file:line: column: message, and nothing was written
    messages = [str(p) for p in result.problems]
    assert any(m.startswith(f"{key}.csv:{line}: {expected}") for m in messages), messages
    assert not Patient.objects.exists() and not Cryoablation.objects.exists() and not AdverseEvent.objects.exists()


def test_a_detail_of_another_kind_is_named_beside_the_rows_other_problems(tmp_path):
    files = with_rows(treatments=["T9,R1,rf_pulsed,2025-02-01,dr_new,superior_cluneal,left,11,,,,,2,,,,42,,,,"])
    result = registry_import(folder=write(tmp_path / "export", files))
    messages = [str(p) for p in result.problems]
    assert "treatments.csv:4: cycles: Not recorded for pulsed radiofrequency (rf_pulsed): leave it empty." in messages
    assert "treatments.csv:4: temperature_c: Not recorded for pulsed radiofrequency (rf_pulsed): leave it empty." in (
        messages
    )
    assert any(m.startswith("treatments.csv:4: baseline_nrs: ") for m in messages), messages
    assert len(messages) == 3


def test_an_id_in_both_ablations_and_treatments_names_both(tmp_path):
    files = with_rows()
    files["ablations.csv"] = [
        ABLATIONS,
        "X1,R1,2025-02-01,dr_new,superior_cluneal,right,8,cryo,27G,2,120,",
        "T2,R1,2025-02-01,dr_new,superior_cluneal,right,8,,,,,",
    ]
    result = registry_import(folder=write(tmp_path / "export", files))
    assert [str(p) for p in result.problems] == [
        "treatments.csv:3: treatment_id: “T2” is also in ablations.csv (line 3): "
        "an id may appear in only one of ablations.csv and treatments.csv."
    ]


def test_ablations_beside_treatments_are_cryoablations_and_answers_may_name_them(tmp_path):
    files = with_rows()
    files["ablations.csv"] = [ABLATIONS, "X1,R1,2025-02-01,dr_new,middle_cluneal,right,8,cryo,27G,2,,"]
    files["survey_responses.csv"].append("R1,X1,2025-03-03T10:00,4,,,,,,")
    result = registry_import(folder=write(tmp_path / "export", files))
    assert result.ok, result.problems
    x1 = Cryoablation.objects.get(external_id="X1")
    assert (x1.kind, x1.device, x1.cycles, x1.freeze_seconds) == (Kind.CRYOABLATION, "cryo", 2, None)
    assert SurveyResponse.objects.filter(ablation=x1).count() == 1
    assert result.counts["ablations.csv"]["created"] == 1 and result.counts["treatments.csv"]["created"] == 2


def test_the_answers_name_their_treatment_in_one_column_only(tmp_path):
    files = with_rows()
    files["survey_responses.csv"] = [RESPONSES.replace("treatment_id", "treatment_id,ablation_id")]
    result = registry_import(folder=write(tmp_path / "export", files))
    assert "survey_responses.csv:1: ablation_id: Name the treatment in treatment_id or ablation_id, not both." in [
        str(p) for p in result.problems
    ]
    files["survey_responses.csv"] = [RESPONSES.replace("treatment_id,", "")]
    result = registry_import(folder=write(tmp_path / "export2", files))
    assert "survey_responses.csv:1: treatment_id: Missing column: treatment_id (or ablation_id) is required." in [
        str(p) for p in result.problems
    ]


def test_a_repeat_in_a_later_import_leaves_out_the_earlier_treatments_follow_ups(tmp_path):
    # given T1 imported, its 1-month answer counted
    registry_import(folder=write(tmp_path / "first", GOOD))
    one_month = FollowUp.objects.get(ablation__external_id="T1", time_point="1m")
    assert one_month.counted_response is not None and one_month.superseded_by is None
    # when a later import brings a repeat of T1 (same patient, nerve and side) before the 1-month window opens
    files = with_rows(treatments=["T3,R1,rf_cooled,2025-02-10,dr_new,superior_cluneal,left,8,,,,,,,17,4,60,150,3,,"])
    result = registry_import(folder=write(tmp_path / "second", files))
    # then T1's follow-up is superseded and counts no answer any more; the change is in its history
    assert result.ok, result.problems
    one_month.refresh_from_db()
    assert one_month.superseded_by.external_id == "T3" and one_month.counted_response is None
    assert one_month.change_events.filter(pgh_label="update").exists()
    assert result.counts["treatments_by_kind"] == {"rf_cooled": 1}
    assert result.counts["follow_ups"]["superseded"] == FollowUp.objects.filter(superseded_by__isnull=False).count()
    assert result.counts["follow_ups"]["superseded"] >= 1


def test_the_upload_page_checks_and_confirms_the_full_version_2_sample(client, admin_user):
    # given a zip of the full version 2 sample
    client.force_login(admin_user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(SAMPLE_V2.glob("*.csv")):
            archive.writestr(f"export/{path.name}", path.read_bytes())
    upload = SimpleUploadedFile("registry.zip", buffer.getvalue(), content_type="application/zip")
    # when it is uploaded
    response = client.post(reverse("registry:import"), {"files": [upload]})
    # then the dry run has no problem, its counts in words, and it can be confirmed
    html = response.content.decode()
    assert "Dry run: no problems" in html and "28 new adverse events" in html and "32 new opioid statements" in html
    assert "727 new instrument answers" in html
    client.post(reverse("registry:import_confirm"))
    assert Cryoablation.objects.count() == 84 and AdverseEvent.objects.count() == 28
    assert InstrumentAnswer.objects.count() == 727


def test_a_dry_run_of_the_v2_sample_counts_what_a_real_run_would_and_writes_nothing(tmp_path):
    folder = sample_v2(tmp_path)
    # when checked only
    dry = registry_import(folder=folder, dry_run=True)
    # then nothing is written, the repeat rule's figures included
    assert dry.ok, dry.problems
    assert not Cryoablation.objects.exists() and not AdverseEvent.objects.exists() and not FollowUp.objects.exists()
    # and a real run gives the same counts
    real = registry_import(folder=folder)
    assert real.counts == dry.counts
    assert real.counts["follow_ups"]["superseded"] == FollowUp.objects.filter(superseded_by__isnull=False).count() > 0
