"""`manage.py export_fhir DIR [--from D] [--to D]`: the FHIR Bulk Data NDJSON files of the registry."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from apps.api import fhir
from apps.api.fhir import EXPORT_ACTOR, EXPORT_RESOURCE_TYPES, fhir_bulk_export, patient_everything_json
from apps.audit.models import AccessEvent, Action, Category
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def local(day: str, hour: int, minute: int = 0) -> dt.datetime:
    """A time on the clinic's clock (America/New_York unless TIME_ZONE says otherwise)."""
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute)))


def history(patient, *, blocks: int = 1, answers: int = 1, ablated: bool = True):
    block = None
    for n in range(blocks):
        block = BlockFactory(
            patient=patient, performed_at=local("2025-03-03", 9) + dt.timedelta(days=n), diary=[(15, 2), (30, 3)]
        )
    if not ablated:
        return
    ablation = make_ablation(patient=patient, performed_on=dt.date(2025, 3, 20), qualifying_block=block)
    for n in range(answers):
        response_record(
            ablation=ablation,
            completed_at=local("2025-04-20", 10) + dt.timedelta(days=n),
            collected_via="phone",
            pain_average=3,
            pain_current=2 if n % 2 else None,  # some answers leave questions out: fewer Observations
            pain_worst=5,
            pgic=2,
        )


def read_export(directory: Path) -> dict[str, list[dict]]:
    """Every file of the export, line by line, each line checked against its R4B model and its file's type."""
    found = {}
    for resource_type in EXPORT_RESOURCE_TYPES:
        path = directory / f"{resource_type}.ndjson"
        text = path.read_text(encoding="utf-8")
        assert text == "" or text.endswith("\n")
        resources = []
        for line in text.splitlines():
            resource = json.loads(line)
            assert resource["resourceType"] == resource_type
            get_fhir_model_class(resource_type).model_validate(resource)
            resources.append(resource)
        found[resource_type] = resources
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{t}.ndjson" for t in EXPORT_RESOURCE_TYPES)
    return found


def ids(resources: list[dict]) -> set[str]:
    return {r["id"] for r in resources}


def last_event_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_the_whole_registry_every_line_a_valid_resource_and_as_many_as_the_database_holds(tmp_path):
    # given
    history(PatientFactory(mobile_phone="+12125550123"), blocks=2, answers=3)
    history(PatientFactory(first_name="José", last_name="Núñez"), blocks=1, answers=1)
    history(PatientFactory(), blocks=1, ablated=False)
    PatientFactory()  # registered, nothing done yet: still a Patient of the registry
    # when
    call_command("export_fhir", str(tmp_path / "export"))
    # then
    found = read_export(tmp_path / "export")
    responses = SurveyResponse.objects.all()
    pain_scores = sum(
        1 for r in responses for f in ("pain_average", "pain_current", "pain_worst") if getattr(r, f) is not None
    )
    assert len(found["Patient"]) == Patient.objects.count() == 4
    assert len(found["Procedure"]) == DiagnosticBlock.objects.count() + Cryoablation.objects.count() == 4 + 2
    assert len(found["Observation"]) == (
        DiagnosticBlock.objects.count() + DiaryEntry.objects.count() + Cryoablation.objects.count() + pain_scores
    )
    assert len(found["QuestionnaireResponse"]) == responses.count() == 4
    assert [q["id"] for q in found["Questionnaire"]] == ["follow-up-survey"]
    assert ids(found["Patient"]) == {str(p) for p in Patient.objects.values_list("public_id", flat=True)}
    assert "Núñez" in (tmp_path / "export" / "Patient.ndjson").read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_each_patients_resources_are_exactly_those_of_everything(tmp_path):
    # given
    patient = PatientFactory()
    history(patient, blocks=2, answers=2)
    history(PatientFactory(), blocks=1, answers=1)
    # when
    fhir_bulk_export(directory=tmp_path)
    # then
    found = read_export(tmp_path)
    subject = {"reference": f"Patient/{patient.public_id}"}
    exported = [r for r in found["Patient"] if r["id"] == str(patient.public_id)]
    for resource_type in ("Procedure", "Observation", "QuestionnaireResponse"):
        exported += [r for r in found[resource_type] if r["subject"] == subject]
    exported += found["Questionnaire"]
    bundle = [entry["resource"] for entry in json.loads(patient_everything_json(patient))["entry"]]
    key = lambda r: (r["resourceType"], r["id"])  # noqa: E731
    assert sorted(exported, key=key) == sorted(bundle, key=key)


def test_a_period_takes_the_records_dated_in_it_by_the_clinics_days_and_their_patients(tmp_path):
    # given: March 2025
    answered = PatientFactory()  # treated before March, answered a survey in March
    block_before = BlockFactory(patient=answered, performed_at=local("2025-01-10", 10), diary=[(15, 2)])
    ablation = make_ablation(patient=answered, performed_on=dt.date(2025, 1, 20), qualifying_block=block_before)
    march_answer = response_record(
        ablation=ablation, completed_at=local("2025-03-05", 12), collected_via="phone", pain_average=4
    )
    response_record(ablation=ablation, completed_at=local("2025-04-10", 12), collected_via="phone", pain_average=4)
    blocked = PatientFactory()
    last_evening = BlockFactory(
        patient=blocked, performed_at=local("2025-03-31", 23, 30), diary=[(15, 1)]
    )  # UTC: Apr 1
    BlockFactory(patient=blocked, performed_at=local("2025-04-01", 0, 30))  # UTC: still Mar 31
    outside = PatientFactory()
    BlockFactory(patient=outside, performed_at=local("2025-02-28", 23, 30))  # UTC: already Mar 1
    PatientFactory()  # nothing at all
    # when
    call_command("export_fhir", str(tmp_path), "--from", "2025-03-01", "--to", "2025-03-31")
    # then
    found = read_export(tmp_path)
    assert ids(found["Patient"]) == {str(answered.public_id), str(blocked.public_id)}
    assert ids(found["Procedure"]) == {str(last_evening.public_id)}
    assert ids(found["QuestionnaireResponse"]) == {str(march_answer.public_id)}
    assert ids(found["Observation"]) == {
        f"{last_evening.public_id}-baseline",
        f"{last_evening.public_id}-diary-15",
        f"{march_answer.public_id}-pain-average",
    }
    assert len(found["Questionnaire"]) == 1


def test_an_open_ended_period(tmp_path):
    # given
    early, late = PatientFactory(), PatientFactory()
    BlockFactory(patient=early, performed_at=local("2025-01-10", 10))
    BlockFactory(patient=late, performed_at=local("2025-06-10", 10))
    # when
    call_command("export_fhir", str(tmp_path / "from"), "--from", "2025-06-10")
    call_command("export_fhir", str(tmp_path / "to"), "--to", "2025-06-09")
    # then
    assert ids(read_export(tmp_path / "from")["Patient"]) == {str(late.public_id)}
    assert ids(read_export(tmp_path / "to")["Patient"]) == {str(early.public_id)}
    assert read_export(tmp_path / "to")["Questionnaire"] == []  # no answers exported: an empty file


def test_the_export_is_logged_once_with_its_counts(tmp_path):
    # given
    history(PatientFactory(), blocks=1, answers=2)
    last = last_event_id()
    # when
    call_command("export_fhir", str(tmp_path), "--from", "2025-01-01")
    # then
    found = read_export(tmp_path)
    [event] = AccessEvent.objects.filter(id__gt=last)
    assert (event.action, event.category, event.actor_id) == (Action.EXPORT, Category.CLINICAL, None)
    assert event.actor_label == EXPORT_ACTOR == "system:command:export_fhir"
    assert event.detail["counts"] == {resource_type: len(found[resource_type]) for resource_type in found}
    assert (event.detail["date_from"], event.detail["date_to"]) == ("2025-01-01", None)


def test_queries_per_round_of_patients_not_per_record(tmp_path):
    # given: 4 patients read 2 at a time
    patients = [PatientFactory() for _ in range(4)]
    for patient in patients:
        history(patient, blocks=1, answers=1)
    with CaptureQueriesContext(connection) as short:
        fhir_bulk_export(directory=tmp_path / "short", chunk_size=2)
    for patient in patients:
        history(patient, blocks=3, answers=4)
    # when
    with CaptureQueriesContext(connection) as long:
        fhir_bulk_export(directory=tmp_path / "long", chunk_size=2)
    # then
    assert len(read_export(tmp_path / "long")["Procedure"]) > 2 * len(read_export(tmp_path / "short")["Procedure"])
    assert len(long) == len(short)
    patient_reads = [q for q in long.captured_queries if 'FROM "patients_patient"' in q["sql"]]
    assert len(patient_reads) == 3  # two rounds of two, then the empty round that ends it


def test_a_failed_export_leaves_the_earlier_files_and_no_half_file(tmp_path, monkeypatch):
    # given: an earlier export in the folder
    history(PatientFactory(), blocks=1, answers=1)
    call_command("export_fhir", str(tmp_path))
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    PatientFactory()
    PatientFactory()
    calls = []
    original = fhir.patient_resource

    def failing(patient):
        calls.append(patient.pk)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return original(patient)

    monkeypatch.setattr(fhir, "patient_resource", failing)
    last = last_event_id()
    # when
    with pytest.raises(RuntimeError):
        call_command("export_fhir", str(tmp_path))
    # then
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    assert not AccessEvent.objects.filter(id__gt=last).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01"], "“2025-13-01” is not a date of the form YYYY-MM-DD"),
        (["--to", "yesterday"], "“yesterday” is not a date of the form YYYY-MM-DD"),
        (["--from", "2025-03-02", "--to", "2025-03-01"], "starts (2025-03-02) after it ends (2025-03-01)"),
    ],
)
def test_a_bad_date_is_refused_and_nothing_written(tmp_path, args, message):
    # given
    last = last_event_id()
    # when
    with pytest.raises(CommandError) as error:
        call_command("export_fhir", str(tmp_path), *args)
    # then
    assert message in str(error.value)
    assert list(tmp_path.iterdir()) == []
    assert not AccessEvent.objects.filter(id__gt=last).exists()


def test_a_folder_that_cannot_be_written_is_refused(tmp_path):
    # given
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a folder")
    # when / then
    with pytest.raises(CommandError, match=r"report.txt exists and is not a folder\. Nothing was exported\."):
        call_command("export_fhir", str(a_file))
    with pytest.raises(CommandError, match=r"Cannot create the folder .*report.txt/export: Not a directory"):
        call_command("export_fhir", str(a_file / "export"))
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_a_read_only_folder_is_refused(tmp_path):
    # given
    tmp_path.chmod(0o500)
    try:
        # when / then
        with pytest.raises(CommandError, match="Cannot write in .*: Permission denied"):
            call_command("export_fhir", str(tmp_path))
        assert list(tmp_path.iterdir()) == []
    finally:
        tmp_path.chmod(0o700)


def run_command(*args: str) -> subprocess.CompletedProcess:
    """manage.py as an operator runs it, on the test database."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "export_fhir", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_from_the_shell_a_bad_date_or_folder_exits_non_zero_with_the_reason(tmp_path):
    # given
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a folder")
    # when
    bad_date = run_command(str(tmp_path / "out"), "--from", "1st of May")
    bad_folder = run_command(str(a_file))
    # then
    assert bad_date.returncode != 0
    assert "“1st of May” is not a date of the form YYYY-MM-DD" in bad_date.stderr
    assert bad_folder.returncode != 0
    assert "report.txt exists and is not a folder" in bad_folder.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


@pytest.mark.django_db(transaction=True)
def test_run_on_its_own_it_reads_one_snapshot_and_logs_the_export(tmp_path):
    """Outside a test's transaction, as from the shell: the export's own REPEATABLE READ transaction."""
    # given
    history(PatientFactory(), blocks=1, answers=1)
    # when
    call_command("export_fhir", str(tmp_path))
    # then
    found = read_export(tmp_path)
    assert len(found["Patient"]) == 1
    assert AccessEvent.objects.get(action=Action.EXPORT, actor_label=EXPORT_ACTOR).detail["counts"]["Patient"] == 1
