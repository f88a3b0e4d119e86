"""The registry import of data-exchange.md: all or nothing, every problem named with its line, idempotent."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Role, User
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.blocks.selectors import qualifying_block_pick
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp, QualifyingSource
from apps.patients.models import Patient, patient_search_name
from apps.registry.models import ImportRun
from apps.registry.services import registry_import
from apps.surveys.models import CollectedVia, SurveyResponse

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
NEW_YORK = ZoneInfo("America/New_York")

PATIENTS = "mrn,first_name,last_name,date_of_birth,sex,email,mobile_phone,preferred_channel,timezone"
BLOCKS = (
    "block_id,mrn,performed_at,physician,nerve,side,guidance,drug,concentration_percent,volume_ml,needle_gauge,"
    "baseline_nrs,diary"
)
ABLATIONS = (
    "ablation_id,mrn,performed_on,physician,nerve,side,baseline_nrs,device,probe,cycles,freeze_seconds,"
    "qualifying_block_id"
)
RESPONSES = "mrn,ablation_id,completed_at,pain_average,pain_current,pain_worst,percent_relief,pgic"

GOOD = {
    "patients.csv": [PATIENTS, "R1,Ana,Diaz,1970-01-02,F,ana@example.org,+12125550123,email,"],
    "blocks.csv": [
        BLOCKS,
        "K1,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:6",  # 25%
        "K2,R1,2025-02-01T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:2",  # 75%
        "K3,R1,2025-03-01T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:1;420:0",  # latest +
        "K4,R1,2025-03-05T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:7",  # newer, negative
        "K5,R1,2024-09-10T10:00,dr_new,superior_cluneal,right,ultrasound,lidocaine,2,1,25,8,30:1",  # 181 days
    ],
    "ablations.csv": [
        ABLATIONS,
        "X1,R1,2025-03-10,dr_new,superior_cluneal,left,8,cryo,27G,2,120,",
        "X2,R1,2025-03-10,dr_new,superior_cluneal,right,8,cryo,27G,2,120,",
        # the day before X1, on the same nerve and side: X1 repeats it (X3 has no answers to leave out)
        "X3,R1,2025-03-09,dr_new,superior_cluneal,left,8,cryo,27G,,,K1",
    ],
    "survey_responses.csv": [
        RESPONSES,
        # 23:30 New York on day 45 (the 1-month window's last day) is 04:30 UTC on day 46
        "R1,X1,2025-04-24T23:30:00-04:00,2,,,,2",
        "R1,X1,2025-06-10T10:00,1,,,,",
        "R1,X1,2025-06-20T10:00,7,,,,",  # later in the 3-month window: this one counts
        "R1,X1,2025-04-30T10:00,3,,,,",  # day 51: between windows, unscheduled
    ],
}


def write(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def with_rows(**extra: list[str]) -> dict[str, list[str]]:
    """GOOD plus extra lines, e.g. with_rows(blocks=["..."]) appends to blocks.csv."""
    files = {name: list(lines) for name, lines in GOOD.items()}
    for key, lines in extra.items():
        files[f"{key}.csv"] += lines
    return files


def table_counts() -> dict[str, int]:
    models = [Patient, DiagnosticBlock, DiaryEntry, Cryoablation, FollowUp, SurveyResponse, User]
    return {m.__name__: m.objects.count() for m in models}


def test_the_files_are_imported_with_follow_ups_qualifying_blocks_and_counted_answers(tmp_path):
    # given
    folder = write(tmp_path / "export", GOOD)
    # when
    result = registry_import(folder=folder)
    # then
    assert result.ok, result.problems
    assert result.counts["patients.csv"] == {"created": 1, "matched": 0}
    x1, x2, x3 = (Cryoablation.objects.get(external_id=x) for x in ("X1", "X2", "X3"))
    # the rule picks the latest positive block in the 180 days before, as the one-at-a-time service would
    assert x1.qualifying_block.external_id == "K3" and x1.qualifying_source == QualifyingSource.RULE
    assert x1.qualifying_block == qualifying_block_pick(
        patient=x1.patient, nerve=x1.nerve, side=x1.side, performed_on=x1.performed_on, protocol=protocol_get()
    )
    assert x2.qualifying_block is None  # K5 is 181 days before
    assert x3.qualifying_block.external_id == "K1" and x3.qualifying_source == QualifyingSource.STAFF
    assert (x3.cycles, x3.freeze_seconds) == (None, None)  # empty cells: not recorded
    assert x1.follow_ups.count() == 5
    one_month = x1.follow_ups.get(time_point="1m")
    three_months = x1.follow_ups.get(time_point="3m")
    assert one_month.counted_response.pain_average == 2
    assert three_months.counted_response.pain_average == 7
    unscheduled = SurveyResponse.objects.get(ablation=x1, follow_up__isnull=True)
    assert unscheduled.pain_average == 3 and unscheduled.collected_via == CollectedVia.IMPORT
    block = DiagnosticBlock.objects.get(external_id="K3")
    assert block.needle_gauge == 25
    assert list(block.diary_entries.values_list("minutes_after", "nrs")) == [(30, 1), (420, 0)]
    assert block.performed_at == dt.datetime(2025, 3, 1, 10, 0, tzinfo=NEW_YORK)
    # the unknown physician became an inactive physician account, listed in the summary
    physician = User.objects.get(username="dr_new")
    assert not physician.is_active and physician.has_role(Role.PHYSICIAN) and not physician.has_usable_password()
    assert result.created_physicians == ["dr_new"]
    # every window of these 2025 ablations has closed: recorded, so no reminder is ever due for them
    # X3 is repeated by X1 the next day: its five time points are left out
    assert result.counts["follow_ups"] == {"created": 15, "window_closed_at_import": 15, "superseded": 5}
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.IMPORTED and run.counts["survey_responses.csv"]["created"] == 4


def test_a_second_import_of_the_same_files_changes_nothing(tmp_path):
    # given the sample imported once
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    before = table_counts()
    fields = list(SurveyResponse.objects.order_by("pk").values_list("pk", "follow_up_id", "pain_average"))
    # when it is imported again
    out = io.StringIO()
    call_command("import_registry", str(SAMPLE), stdout=out)
    # then every row is matched and nothing changed
    assert table_counts() == before
    assert list(SurveyResponse.objects.order_by("pk").values_list("pk", "follow_up_id", "pain_average")) == fields
    assert "patients.csv: created 0, matched 60" in out.getvalue()
    assert "survey_responses.csv: created 0, matched 162" in out.getvalue()
    assert "inactive accounts" not in out.getvalue()


def test_a_dry_run_counts_but_writes_nothing(tmp_path):
    folder = write(tmp_path / "export", GOOD)
    result = registry_import(folder=folder, dry_run=True)
    assert result.ok and result.counts["blocks.csv"]["created"] == 5
    assert not Patient.objects.exists() and not User.objects.filter(username="dr_new").exists()
    assert ImportRun.objects.get().status == ImportRun.Status.DRY_RUN


BAD_ROWS = [
    # (file key, row, expected problem without the file and line)
    ("patients", "R2,Bo,Li,1970-13-01,F,,,none,", "date_of_birth: "),
    ("patients", "R3,Bo,Li,1970-01-01,Q,,,none,", "sex: Value 'Q' is not a valid choice."),
    ("patients", "R4,Bo,Li,1970-01-01,F,,+1212555,sms,", "mobile_phone: "),
    ("patients", "R5,Bo,Li,1970-01-01,F,,,email,", "email: Enter an email address to send reminders by email."),
    ("patients", "R6,Bo,Li,1970-01-01,F,,,none,Mars/Olympus", "timezone: "),
    ("patients", ",Bo,Li,1970-01-01,F,,,none,", "mrn: Required: the cell is empty."),
    ("patients", "R1,Ana,Diaz,1970-01-02,F,,,none,", "mrn: “R1” is already on line 2."),
    ("blocks", "K6,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,11,30:2", "baseline_nrs: "),
    ("blocks", "K7,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7.5,30:2", "baseline_nrs: "),
    ("blocks", "K8,R1,2025-01-01T10:00,dr_new,knee,left,,,,,,7,30:2", "nerve: “knee” is not a nerve code"),
    ("blocks", "K9,R1,2025-01-01T10:00,dr_new,superior_cluneal,up,,,,,,7,30:2", "side: "),
    ("blocks", "K10,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,30-2", "diary: “30-2” is not an entry"),
    ("blocks", "K11,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,30:2;30:3", "diary: There are two"),
    ("blocks", "K12,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,30:12", "diary: At 30 minutes: "),
    ("blocks", "K13,R1,2099-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,", "performed_at: It cannot be in the"),
    ("blocks", "K14,R1,yesterday,dr_new,superior_cluneal,left,,,,,,7,", "performed_at: “yesterday” is not an"),
    ("blocks", "K15,R9,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,", "mrn: No patient with MRN R9"),
    ("blocks", "K16,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,0,,7,", "volume_ml: It must be more than 0"),
    ("blocks", "K1,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,", "block_id: “K1” is already on line 2."),
    ("ablations", "X4,R1,2025-03-10,dr_new,superior_cluneal,left,8,,,0,120,", "cycles: It must be at least 1."),
    ("ablations", "X5,R1,2025-03-10,dr_new,superior_cluneal,right,8,,,2,120,K1", "qualifying_block_id: Block K1 is"),
    ("ablations", "X6,R1,2025-03-10,dr_new,superior_cluneal,left,8,,,2,120,K99", "qualifying_block_id: No block"),
    ("ablations", "X7,R1,2025-03-10,dr_new,superior_cluneal,left,,,,2,120,", "baseline_nrs: Required"),
    ("survey_responses", "R1,X9,2025-06-10T10:00,2,,,,", "ablation_id: No treatment X9"),
    ("survey_responses", "R1,X1,2025-06-11T10:00,2,,,,8", "pgic: Value 8 is not a valid choice."),
    ("survey_responses", "R1,X1,2025-06-12T10:00,2,,,101,", "percent_relief: "),
    ("survey_responses", "R1,X1,2025-06-13T10:00,,,,,", "pain_average: Required: the cell is empty."),
    ("survey_responses", "R1,X1,2025-06-10T10:00,2,,,,", "completed_at: The same treatment and completion time"),
    ("patients", "R2,Bo,Li,1970-01-01,F,,,fax,", "preferred_channel: "),
    ("patients", "R3,Bo,Li,1970-01-01,F,not-an-email,,none,", "email: "),
    ("blocks", "K3,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,xray,,,,,7,", "guidance: "),
    ("blocks", "K4,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,0,,,7,", "concentration_percent: "),
    ("blocks", "K5,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,,30:2", "baseline_nrs: Required"),
    ("blocks", "K6,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,-1,30:2", "baseline_nrs: "),
    ("blocks", "K7,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,30:", "diary: At 30 minutes: "),
    ("blocks", "K8,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,7,30:2.5", "diary: At 30 minutes: "),
    ("blocks", "K9,R1,2025-01-01T10:00,,superior_cluneal,left,,,,,,7,", "physician: Required"),
    ("blocks", "K10,R1", "-: The row has 2 cells"),
    ("ablations", "X1,R1,2025-03-12,dr_new,superior_cluneal,left,8,,,2,120,", "ablation_id: “X1” is already on line"),
    ("ablations", "X2,R1,2025-02-30,dr_new,superior_cluneal,left,8,,,2,120,", "performed_on: "),
    ("ablations", "X3,R1,2099-01-01,dr_new,superior_cluneal,left,8,,,2,120,", "performed_on: "),
    ("ablations", "X4,R9,2025-03-10,dr_new,superior_cluneal,left,8,,,2,120,", "mrn: No patient with MRN R9"),
    ("ablations", "X5,R1,2025-03-10,dr_new,knee,left,8,,,2,120,", "nerve: “knee” is not a nerve code"),
    ("ablations", "X6,R1,2025-03-10,dr_new,superior_cluneal,up,8,,,2,120,", "side: "),
    ("ablations", "X7,R1,2025-03-10,dr_new,superior_cluneal,left,11,,,2,120,", "baseline_nrs: "),
    ("ablations", "X8,R1,2025-03-10,dr_new,superior_cluneal,left,7.5,,,2,120,", "baseline_nrs: "),
    ("ablations", "X9,R1,2025-03-10,dr_new,middle_cluneal,left,8,,,2,120,K1", "qualifying_block_id: Block K1 is"),
    ("ablations", "X10,R1,2025-03-10,dr_new,superior_cluneal,left,8,,,2,0,", "freeze_seconds: It must be at least"),
    ("survey_responses", "R1,X1,yesterday,2,,,,", "completed_at: “yesterday” is not an"),
    ("survey_responses", "R1,X1,2099-06-15T10:00,2,,,,", "completed_at: "),
    ("survey_responses", "R1,X1,2025-06-11T10:00,7.5,,,,", "pain_average: "),
    ("survey_responses", "R1,X1,2025-06-12T10:00,11,,,,", "pain_average: "),
    ("survey_responses", "R1,X1,2025-06-13T10:00,2,11,,,", "pain_current: "),
    ("survey_responses", "R1,X1,2025-06-14T10:00,2,,7.5,,", "pain_worst: "),
    ("survey_responses", "R1,X1,2025-06-15T10:00,2,,,-1,", "percent_relief: "),
    ("survey_responses", "R1,X1,2025-06-16T10:00,2,,,,0", "pgic: "),
    ("survey_responses", "R9,X1,2025-06-17T10:00,2,,,,", "mrn: "),
    # Physicians' usernames as the user form checks them: no account named like a spreadsheet formula.
    ("blocks", "K6,R1,2025-01-01T10:00,=cmd|' /C calc'!A0,superior_cluneal,left,,,,,,7,", "physician: Enter a valid"),
    ("ablations", "X4,R1,2025-03-10,dr new,superior_cluneal,left,8,,,2,120,", "physician: Enter a valid username"),
    ("ablations", f"X4,R1,2025-03-10,{'d' * 151},superior_cluneal,left,8,,,2,120,", "physician: Ensure this value"),
]


@pytest.mark.parametrize(
    ("key", "row", "expected"), BAD_ROWS, ids=[e.split(":")[0] + "-" + r[:4] for k, r, e in BAD_ROWS]
)
def test_each_kind_of_bad_row_is_named_with_its_line_and_nothing_is_written(tmp_path, key, row, expected):
    # given a good folder with one bad row appended
    files = with_rows(**{key: [row]})
    folder = write(tmp_path / "export", files)
    line = len(files[f"{key}.csv"])
    # when
    result = registry_import(folder=folder)
    # then that row's problem is listed with its file and line, and nothing was written
    messages = [str(p) for p in result.problems]
    assert any(m.startswith(f"{key}.csv:{line}: {expected}") for m in messages), messages
    assert table_counts() == {k: 0 for k in table_counts()}
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REFUSED and run.problem_count == len(result.problems)


def test_every_problem_is_listed_and_the_command_fails(tmp_path):
    # given bad rows in three files, and an unknown column
    files = with_rows(
        blocks=["K6,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,,,,,,11,30:2"],
        survey_responses=["R1,X1,2025-06-11T10:00,2,,,,8", "R1,X1,2025-06-12T10:00,12,,,,"],
    )
    files["patients.csv"][0] += ",nickname"
    files["patients.csv"][1] += ",Annie"
    folder = write(tmp_path / "export", files)
    # when
    err = io.StringIO()
    with pytest.raises(CommandError, match="problem"):
        call_command("import_registry", str(folder), stdout=io.StringIO(), stderr=err)
    # then all of them are printed as file:line: column: message
    printed = err.getvalue().splitlines()
    assert "patients.csv:1: nickname: Unknown column: extra columns are not allowed." in printed
    assert any(p.startswith("blocks.csv:7: baseline_nrs: ") for p in printed)
    assert "survey_responses.csv:6: pgic: Value 8 is not a valid choice." in printed
    assert any(p.startswith("survey_responses.csv:7: pain_average: ") for p in printed)
    assert not Patient.objects.exists() and not DiagnosticBlock.objects.exists()


def test_a_missing_file_and_a_missing_column_are_problems(tmp_path):
    files = {name: lines for name, lines in GOOD.items() if name != "ablations.csv"}
    files["patients.csv"] = ["mrn,first_name,date_of_birth", "R1,Ana,1970-01-02"]
    result = registry_import(folder=write(tmp_path / "export", files))
    messages = [str(p) for p in result.problems]
    assert "patients.csv:1: last_name: Missing column: it is required." in messages
    assert "treatments.csv (or ablations.csv, version 1) is missing." in messages
    assert not Patient.objects.exists()
    assert "treatments.csv (or ablations.csv, version 1) is missing." in ImportRun.objects.get().problems


def test_an_empty_timezone_is_the_clinics_and_an_existing_patient_is_matched_by_mrn(tmp_path):
    # given the patient already in the registry, under a lower-case MRN in the file
    folder = write(tmp_path / "first", GOOD)
    registry_import(folder=folder)
    files = {name: list(lines) for name, lines in GOOD.items()}
    files["patients.csv"][1] = files["patients.csv"][1].replace("R1,", "r1,", 1)
    # when
    result = registry_import(folder=write(tmp_path / "second", files))
    # then
    assert result.ok and result.counts["patients.csv"] == {"created": 0, "matched": 1}
    assert Patient.objects.get().timezone == "America/New_York"


def test_every_row_the_import_creates_is_in_the_history_with_the_import_and_the_trail_verifies(tmp_path):
    from apps.audit.db import verify_chains
    from apps.audit.models import (
        CryoablationEvent,
        DiagnosticBlockEvent,
        DiaryEntryEvent,
        FollowUpEvent,
        PatientEvent,
        SurveyResponseEvent,
    )

    # given the sample imported once, then new answers for ablations already in the registry
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    first = ImportRun.objects.get()
    folder = write(tmp_path / "export", GOOD)
    call_command("import_registry", str(folder), stdout=io.StringIO())
    second = ImportRun.objects.exclude(pk=first.pk).get()
    # then each created row has exactly one "insert" event, holding its final values, naming its import run
    for model, event_model in [
        (Patient, PatientEvent),
        (DiagnosticBlock, DiagnosticBlockEvent),
        (DiaryEntry, DiaryEntryEvent),
        (Cryoablation, CryoablationEvent),
        (FollowUp, FollowUpEvent),
        (SurveyResponse, SurveyResponseEvent),
    ]:
        inserts = event_model.objects.filter(pgh_label="insert")
        assert sorted(inserts.values_list("pgh_obj_id", flat=True)) == sorted(
            model.objects.values_list("pk", flat=True)
        )
        runs = {e.pgh_context["import_run"] for e in inserts}
        assert runs <= {first.pk, second.pk} and first.pk in runs, model
        assert all(e.pgh_context["command"] == "import_registry" for e in inserts), model
    x1 = Cryoablation.objects.get(external_id="X1")
    assert CryoablationEvent.objects.get(pgh_obj=x1).qualifying_block_id == x1.qualifying_block_id
    counted = FollowUp.objects.filter(counted_response__isnull=False).first()
    assert (
        FollowUpEvent.objects.get(pgh_obj=counted, pgh_label="insert").counted_response_id
        == counted.counted_response_id
    )
    # and the trail is intact
    assert verify_chains()[0] == []


def test_a_follow_up_already_in_the_registry_that_counts_an_imported_answer_has_its_update_event(tmp_path):
    from apps.audit.models import FollowUpEvent

    # given the files without the 3-month answers, imported
    files = {name: list(lines) for name, lines in GOOD.items()}
    files["survey_responses.csv"] = [line for line in files["survey_responses.csv"] if "2025-06" not in line]
    registry_import(folder=write(tmp_path / "first", files))
    three_months = FollowUp.objects.get(ablation__external_id="X1", time_point="3m")
    assert three_months.counted_response is None
    # when the full files come
    result = registry_import(folder=write(tmp_path / "second", GOOD))
    # then
    three_months.refresh_from_db()
    assert three_months.counted_response.pain_average == 7
    update = FollowUpEvent.objects.filter(pgh_obj=three_months, pgh_label="update").get()
    assert update.counted_response_id == three_months.counted_response_id
    assert update.pgh_context["import_run"] == result.run.pk


def test_imported_rows_hold_what_saving_them_one_at_a_time_would_give(tmp_path):
    # given the files; when they are imported (written with COPY, not through the models)
    before = dt.datetime.now(tz=NEW_YORK)
    result = registry_import(folder=write(tmp_path / "export", GOOD), user=None)
    after = dt.datetime.now(tz=NEW_YORK)
    # then every column the files do not give holds the model's default, and each row its own public id
    assert result.ok
    patient = Patient.objects.get()
    assert (patient.language, patient.reminder_consent, patient.is_active) == ("en", False, True)
    assert patient.search_name == patient_search_name("Ana", "Diaz")
    for model in (Patient, DiagnosticBlock, Cryoablation, FollowUp, SurveyResponse):
        public_ids = list(model.objects.values_list("public_id", flat=True))
        assert None not in public_ids and len(set(public_ids)) == len(public_ids), model
    for model, stamp in [
        (Patient, "created_at"),
        (Patient, "updated_at"),
        (DiagnosticBlock, "created_at"),
        (DiagnosticBlock, "updated_at"),
        (DiaryEntry, "recorded_at"),
        (Cryoablation, "created_at"),
        (Cryoablation, "updated_at"),
        (SurveyResponse, "recorded_at"),
    ]:
        assert all(before <= t <= after for t in model.objects.values_list(stamp, flat=True)), (model, stamp)
    block = DiagnosticBlock.objects.get(external_id="K3")
    assert (block.needle, block.notes, block.tinel_sign, block.trigger_point_cm_from_midline) == ("", "", None, None)
    assert set(DiaryEntry.objects.values_list("source", flat=True)) == {DiaryEntry.Source.STAFF}
    x3 = Cryoablation.objects.get(external_id="X3")
    assert (x3.cycles, x3.freeze_seconds, x3.complications, x3.guidance) == (None, None, "", "ultrasound")
    assert set(SurveyResponse.objects.values_list("collected_via", "recorded_by")) == {(CollectedVia.IMPORT, None)}
    # and a row saved afterwards through the ORM takes the next id, the sequence having moved past the import's
    assert (
        Patient.objects.create(mrn="R2", first_name="B", last_name="C", date_of_birth=dt.date(1970, 1, 1)).pk
        > patient.pk
    )


def test_the_answers_new_follow_ups_count_are_those_the_surveys_rule_picks(tmp_path):
    from apps.surveys.services import counted_responses_refresh

    # given the sample and files with two answers in one window, imported
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    registry_import(folder=write(tmp_path / "export", GOOD))
    imported = dict(FollowUp.objects.values_list("pk", "counted_response"))
    assert sum(1 for counted in imported.values() if counted) >= 3
    # when the rule of the surveys app picks them again
    counted_responses_refresh(follow_ups=FollowUp.objects.all())
    # then it picks the same ones
    assert dict(FollowUp.objects.values_list("pk", "counted_response")) == imported
