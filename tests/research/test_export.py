"""The de-identified research export (README: "Research export"): no identifier in any file, day offsets instead
of dates, ages over 89 pooled, every (age band, sex, site) combination shared by at least k patients, suppression
reported in counts, all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.adverse_events.models import AdverseEvent
from apps.audit.models import AccessEvent
from apps.clinic.models import Site
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient
from apps.research import selectors
from apps.research.deidentify import QuasiIdentifiers, age_band, k_anonymise
from apps.research.services import DICTIONARY, FILES, REPORT
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation

NEW_YORK = ZoneInfo("America/New_York")
SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
FIRST_BLOCK = dt.datetime(2025, 3, 14, 10, 0, tzinfo=NEW_YORK)
TREATED_ON = dt.date(2025, 3, 28)  # day 14
ANSWERED_AT = dt.datetime(2025, 6, 27, 9, 30, tzinfo=NEW_YORK)  # 91 days after the treatment
EVENT_ON, RESOLVED_ON = dt.date(2025, 4, 2), dt.date(2025, 4, 12)  # 5 days after, resolved 10 days later
OPIOID_FROM, OPIOID_TO = dt.date(2025, 1, 14), dt.date(2025, 5, 13)  # days -59 and 60


def _patient(i: int, *, born: dt.date, sex: str = "F"):
    """A patient with distinctive identifiers, a positive block, a treatment, an answer, an event and an opioid."""
    patient = PatientFactory(
        first_name=f"Zebulon{i}",
        last_name=f"Quixotic{i}",
        mrn=f"MRNX9{i:02d}77",
        email=f"zeb{i}@leaky.example",
        mobile_phone=f"+1212555{i:04d}",
        date_of_birth=born,
        sex=sex,
    )
    block = BlockFactory(
        patient=patient,
        performed_at=FIRST_BLOCK,
        notes="Secret note Xylophone",
        needle="Needlebrand Quokka",
        drug="Drugtext Wombat",
        diary=[(30, 2)],
    )
    treatment = make_ablation(
        patient=patient,
        performed_on=TREATED_ON,
        qualifying_block=block,
        device="DeviceSerial ZZ9",
        complications="Complication Kumquat",
    )
    response_record(
        ablation=treatment,
        completed_at=ANSWERED_AT,
        pain_average=3,
        percent_relief=60,
        new_problem=True,
        new_problem_text="Patient words Marmalade",
        collected_via="phone",
    )
    AdverseEvent.objects.create(
        treatment=treatment,
        occurred_on=EVENT_ON,
        resolved_on=RESOLVED_ON,
        category="other",
        severity="mild",
        relatedness="unrelated",
        notes="AE note Porcupine",
    )
    MedicationStatement.objects.create(
        patient=patient, opioid="oxycodone", daily_dose=Decimal("20"), started_on=OPIOID_FROM, stopped_on=OPIOID_TO
    )
    return patient


def _export(folder: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("export_research", str(folder), *args, stdout=out)
    return out.getvalue()


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _classes(folder: Path) -> Counter[tuple[str, str, str]]:
    return Counter((p["age_band"], p["sex"], p["site"]) for p in _read(folder, "patients.csv"))


@pytest.fixture
def seeded(db):
    return [_patient(i, born=dt.date(1950, 3, 10 + i)) for i in range(6)]


def test_no_identifier_reaches_any_file_or_the_log(seeded, tmp_path, caplog):
    # given six patients with distinctive names, MRNs, contact details, dates and free text
    folder = tmp_path / "export"

    # when
    with caplog.at_level(logging.DEBUG):
        _export(folder)

    # then none of it is in any file written, nor in the log
    names = {p.name for p in folder.iterdir()}
    assert names == {*FILES, DICTIONARY, REPORT}
    text = "\n".join((folder / name).read_text(encoding="utf-8") for name in sorted(names))
    forbidden = [
        "Zebulon", "Quixotic", "MRNX9", "leaky.example", "zeb0@", "212555", "+1212",
        "Xylophone", "Quokka", "Wombat", "ZZ9", "Kumquat", "Marmalade", "Porcupine",
        "2025", "1950", "03/14", "3/14/", "14 Mar", "Mar 14",
    ]  # fmt: skip
    for patient in seeded:
        forbidden += [str(patient.public_id), patient.mrn, patient.date_of_birth.isoformat()]
    leaks = [word for word in forbidden if word.lower() in text.lower()]
    assert leaks == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert [word for word in forbidden if word.lower() in logged.lower()] == []
    # and the database's own row ids are not the study ids
    patients = _read(folder, "patients.csv")
    assert sorted(p["study_id"] for p in patients) == [f"P{n:04d}" for n in range(1, 7)]
    assert all(re.fullmatch(r"B\d{4}", b["block_id"]) for b in _read(folder, "blocks.csv"))


def test_dates_become_day_offsets_from_the_first_procedure(seeded, tmp_path):
    # when
    folder = tmp_path / "export"
    _export(folder)

    # then for every patient: the block on day 0, the treatment 14 days later, qualified by that block
    blocks = {b["block_id"]: b for b in _read(folder, "blocks.csv")}
    treatments = _read(folder, "treatments.csv")
    assert len(blocks) == len(treatments) == 6
    assert {b["day"] for b in blocks.values()} == {"0"}
    assert {(t["day"], t["days_after_qualifying_block"]) for t in treatments} == {("14", "14")}
    for t in treatments:
        assert blocks[t["qualifying_block_id"]]["study_id"] == t["study_id"]
        assert t["kind"] == "cryoablation" and t["nerve"] == "superior_cluneal"
    assert {b["peak_relief_percent"] for b in blocks.values()} == {"75"}
    diary = _read(folder, "block_diary.csv")
    assert {(d["minutes_after"], d["nrs"]) for d in diary} == {("30", "2")}
    assert {d["block_id"] for d in diary} == set(blocks)
    # the answer 91 days after the treatment, the counted one of its time point
    answers = _read(folder, "follow_up_answers.csv")
    assert {(a["days_after_treatment"], a["counted"], a["pain_average"], a["new_problem"]) for a in answers} == {
        ("91", "true", "3", "true")
    }
    assert {a["treatment_id"] for a in answers} == {t["treatment_id"] for t in treatments}
    # the event 5 days after its treatment, resolved 10 days later; the opioid from day -59 to day 60
    events = _read(folder, "adverse_events.csv")
    assert {(e["days_after_procedure"], e["resolved_after_days"], e["block_id"]) for e in events} == {("5", "10", "")}
    opioids = _read(folder, "opioids.csv")
    assert {(o["started_day"], o["stopped_day"], o["daily_dose"], o["dose_unit"]) for o in opioids} == {
        ("-59", "60", "20", "mg/day")
    }
    # the patient's rows follow their study id
    by_treatment = {t["treatment_id"]: t["study_id"] for t in treatments}
    assert all(by_treatment[e["treatment_id"]] == e["study_id"] for e in events)


def test_ages_over_89_are_pooled(db, tmp_path):
    # given five patients aged 90, 92, 95, 99 and 104 at their first block and five aged 70-74
    for i, age in enumerate([90, 92, 95, 99, 104]):
        _patient(i, born=dt.date(2025 - age, 1, 1))
    for i in range(5):
        _patient(10 + i, born=dt.date(1952, 1, 1))

    # when
    folder = tmp_path / "export"
    _export(folder)

    # then
    assert _classes(folder) == {("90+", "F", "Site 1"): 5, ("70-74", "F", "Site 1"): 5}
    assert "Ages over 89 pooled into 90+: 5" in (folder / REPORT).read_text()


@pytest.mark.parametrize("k", [5, 2])
def test_every_combination_holds_at_least_k_patients_on_the_sample_registry(db, tmp_path, k):
    # given the sample registry (60 patients of every age and sex) and a man over 89
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    _patient(1, born=dt.date(1930, 1, 1), sex="M")

    # when
    folder = tmp_path / "export"
    _export(folder, "--k", str(k))

    # then
    classes = _classes(folder)
    assert classes and min(classes.values()) >= k
    report = (folder / REPORT).read_text()
    exported = sum(classes.values())
    suppressed = int(re.search(r"Suppressed by the k-anonymity check \(with all their rows\): (\d+)", report)[1])
    without = int(re.search(r"Without any block or treatment \(not exported, nor their other rows\): (\d+)", report)[1])
    assert exported + suppressed + without == 61
    assert f"Exported: {exported}" in report


def test_suppression_removes_the_patient_and_their_rows_and_reports_counts_only(db, tmp_path):
    # given ten women of 40-44 and one man of 60, who shares no combination with anyone at any band width
    for i in range(10):
        _patient(i, born=dt.date(1983, 1, 1))
    _patient(99, born=dt.date(1965, 1, 1), sex="M")

    # when
    folder = tmp_path / "export"
    output = _export(folder)

    # then
    assert _classes(folder) == {("40-44", "F", "Site 1"): 10}
    assert len(_read(folder, "treatments.csv")) == len(_read(folder, "opioids.csv")) == 10
    report = (folder / REPORT).read_text()
    assert "Suppressed by the k-anonymity check (with all their rows): 1" in report
    assert "| treatments.csv | 10 | 1 |" in report and "| opioids.csv | 10 | 1 |" in report
    # the 5-year bands were kept: no wider band would have saved him
    assert "- 5-year bands: 1" in report and "Kept: 5-year bands" in report
    assert "60" not in _read(folder, "patients.csv").__repr__()
    assert "10 patients exported" in output and "1 suppressed" in output


def test_generalises_the_age_bands_before_suppressing_many(db, tmp_path):
    # given three women in each of 40-44 and 45-49: at 5-year bands all six would be suppressed (k = 5)
    for i in range(3):
        _patient(i, born=dt.date(1983, 1, 1))
        _patient(10 + i, born=dt.date(1978, 1, 1))

    # when
    folder = tmp_path / "export"
    _export(folder)

    # then they are exported in one 10-year band instead
    assert _classes(folder) == {("40-49", "F", "Site 1"): 6}
    report = (folder / REPORT).read_text()
    assert "- 5-year bands: 6" in report and "- 10-year bands: 0" in report
    assert "Kept: 10-year bands" in report and "Suppressed by the k-anonymity check (with all their rows): 0" in report


def test_a_data_dictionary_describes_every_column(seeded, tmp_path):
    folder = tmp_path / "export"
    _export(folder)

    described = {(r["file"], r["column"]) for r in _read(folder, DICTIONARY) if r["description"]}
    for name in FILES:
        with (folder / name).open(encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert {(name, column) for column in header} <= described


def test_refuses_a_folder_that_is_not_empty(seeded, tmp_path):
    # given
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "earlier.csv").write_text("kept")

    # when / then
    with pytest.raises(CommandError, match="is not empty"):
        _export(folder)
    assert [p.name for p in folder.iterdir()] == ["earlier.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_writes_into_an_empty_folder(seeded, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()

    _export(folder)

    assert (folder / "patients.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_refuses_k_below_2(seeded, tmp_path):
    with pytest.raises(CommandError, match="--k: must be at least 2"):
        _export(tmp_path / "export", "--k", "1")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_half_way_leaves_nothing_behind(seeded, tmp_path, monkeypatch, existing):
    # given a read that fails after most files were written
    def broken():
        raise RuntimeError("connection lost")

    monkeypatch.setattr(selectors, "research_opioids", broken)
    folder = tmp_path / "export"
    if existing:
        folder.mkdir()
    events = AccessEvent.objects.count()

    # when
    with pytest.raises(RuntimeError):
        _export(folder)

    # then no file, no partial folder; an empty folder given stays as it was
    assert [p.name for p in tmp_path.iterdir()] == (["export"] if existing else [])
    assert not existing or list(folder.iterdir()) == []
    assert AccessEvent.objects.count() == events


def test_the_export_is_in_the_audit_trail_with_counts(seeded, tmp_path):
    _export(tmp_path / "export")

    event = AccessEvent.objects.filter(object_type="research_export").get()
    assert event.actor_label == "system:export_research"
    assert event.detail["patients"] == 6 and event.detail["suppressed"] == 0 and event.detail["k"] == 5


def test_age_bands():
    assert [age_band(a, 5) for a in (18, 44, 45, 89, 90, 120)] == ["15-19", "40-44", "45-49", "85-89", "90+", "90+"]
    assert [age_band(a, 20) for a in (80, 89, 90)] == ["80-89", "80-89", "90+"]
    assert age_band(50, None) == "all"


def test_k_anonymise_leaves_age_out_before_keeping_a_small_combination():
    # given two women of very different ages, and five men: with k = 2, only leaving age out pairs the women
    people = [QuasiIdentifiers(30, "F", "Site 1"), QuasiIdentifiers(70, "F", "Site 1")]
    people += [QuasiIdentifiers(50, "M", "Site 1")] * 5

    # when
    result = k_anonymise(people, k=2)

    # then
    assert result.band_width is None and result.suppressed == set()
    assert set(result.bands.values()) == {"all"}


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_with_a_replica_the_export_reads_from_it_and_writes_its_audit_row_on_the_primary(settings, tmp_path):
    # given a replica configured (the test database under a second alias: tests/reports/test_replica.py)
    for i in range(5):
        _patient(i, born=dt.date(1960, 1, 1))
    settings.READ_REPLICA = "replica"

    # when
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        _export(tmp_path / "export")

    # then every row came from the replica, in one read-only snapshot; the audit entry went to the primary
    replica_sql = [q["sql"] for q in replica.captured_queries]
    snapshot = next(i for i, s in enumerate(replica_sql) if "REPEATABLE READ READ ONLY" in s)
    assert snapshot < next(i for i, s in enumerate(replica_sql) if 'FROM "patients_patient"' in s)
    assert not any('FROM "patients_patient"' in s for s in (q["sql"] for q in primary.captured_queries))
    assert any('"audit_accessevent"' in q["sql"] for q in primary.captured_queries)
    assert len(_read(tmp_path / "export", "patients.csv")) == 5


def test_each_patients_site_is_exported_under_a_pseudonym_never_its_name(db, tmp_path):
    # given a network of two sites, five women of 70-74 at each
    for i in range(10):
        _patient(i, born=dt.date(1952, 1, 1))
    Site.objects.update(name="Northfield Pain Center")
    south = Site.objects.create(name="Southbrook Spine Clinic")
    patients = list(Patient.objects.order_by("pk"))
    Patient.objects.filter(pk__in=[p.pk for p in patients[5:]]).update(site=south)

    # when
    folder = tmp_path / "export"
    _export(folder)

    # then each site is a class of its own, named "Site 1" or "Site 2", and no file names either site
    assert _classes(folder) == {("70-74", "F", "Site 1"): 5, ("70-74", "F", "Site 2"): 5}
    for path in folder.iterdir():
        text = path.read_text()
        assert "Northfield" not in text and "Southbrook" not in text, path.name
