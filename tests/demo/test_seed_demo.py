from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, time, timedelta

import phonenumbers
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.adverse_events.models import AdverseEvent
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.blocks.selectors import qualifying_block_pick
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp, Kind
from apps.cryoablations.services import follow_up_dates
from apps.demo.generator import DEMO_PASSWORD, ROWS
from apps.instruments.models import InstrumentAnswer
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient, patient_search_name
from apps.registry import bulk
from apps.reports.outcomes import outcomes_compute, outcomes_compute_for, outcomes_filters
from apps.surveys.models import SurveyResponse
from apps.surveys.services import follow_up_for
from tests.conftest import clinic_catalog_ensure
from tests.registry.test_bulk import _counts, _reltuples

# A fixed anchor makes the data the same on any day the suite runs (it must not be after the real today).
TODAY = date(2026, 6, 30)


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--today", TODAY.isoformat(), *args, stdout=out)
    return out.getvalue()


def _digest() -> str:
    """Everything seeded, by natural keys only (primary keys differ from one database to another)."""
    lines = [
        repr(row)
        for row in Patient.objects.order_by("mrn").values_list(
            "mrn", "public_id", "first_name", "last_name", "date_of_birth", "sex", "email", "mobile_phone", "language"
        )
    ]
    lines += [
        repr(row)
        for row in DiagnosticBlock.objects.order_by("public_id").values_list(
            "public_id", "patient__mrn", "performed_at", "physician__username", "nerve__code", "side", "baseline_nrs"
        )
    ]
    lines += [
        repr(row)
        for row in DiaryEntry.objects.order_by("block__public_id", "minutes_after").values_list(
            "block__public_id", "minutes_after", "nrs"
        )
    ]
    lines += [
        repr(row)
        for row in Cryoablation.objects.order_by("public_id").values_list(
            "public_id", "patient__mrn", "performed_on", "nerve__code", "side", "qualifying_block__public_id"
        )
    ]
    lines += [
        repr(row)
        for row in SurveyResponse.objects.order_by("public_id").values_list(
            "public_id", "follow_up__public_id", "completed_at", "pain_average"
        )
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _seed_and_roll_back(*args: str) -> str:
    """Seed an empty database, take the digest, and leave the database empty again."""
    assert not Patient.objects.exists()
    with transaction.atomic():
        _seed(*args)
        digest = _digest()
        transaction.set_rollback(True)
    return digest


@pytest.mark.django_db
def test_same_seed_and_today_give_the_same_data():
    # when
    first = _seed_and_roll_back("--patients", "50", "--seed", "7")
    second = _seed_and_roll_back("--patients", "50", "--seed", "7")
    other_seed = _seed_and_roll_back("--patients", "50", "--seed", "8")

    # then
    assert first == second
    assert other_seed != first


@pytest.mark.django_db
class TestFiftyPatients:
    """What the demo of 50 patients (seed 7) holds: seeded once for these tests, which only read it, and rolled back
    after them (seeding takes seconds; each test used to seed its own)."""

    @pytest.fixture(scope="class")
    @classmethod
    def seeded(cls, django_db_setup, django_db_blocker):
        """The seeding's output; the rows stay until the class's last test, in a transaction rolled back then (each
        test's own transaction is a savepoint inside it, as with Django's TestCase.setUpTestData)."""
        with django_db_blocker.unblock():
            clinic_catalog_ensure()  # before the class's tests' own check, which runs inside its transaction
            with transaction.atomic():
                yield _seed("--patients", "50", "--seed", "7")
                transaction.set_rollback(True)

    def test_counts_are_plausible(self, seeded):
        # given 50 patients seeded (the class's)
        output = seeded

        # then
        assert Patient.objects.count() == 50
        assert "Seeded demo data" in output and "D0000001..D0000050" in output
        blocks = DiagnosticBlock.objects.count()
        assert 100 <= blocks <= 220  # ~3 a patient
        per_block = [b.diary_entries.count() for b in DiagnosticBlock.objects.prefetch_related("diary_entries")]
        assert set(per_block) <= {3, 4, 5}
        protocol = protocol_get()
        all_blocks = DiagnosticBlock.objects.prefetch_related("diary_entries")
        positive = sum(b.assess(protocol).is_positive for b in all_blocks)
        assert 0.55 <= positive / blocks <= 0.85  # ~70%
        ablations = Cryoablation.objects.count()
        assert 30 <= ablations <= 70  # ~1 a patient
        assert FollowUp.objects.count() == ablations * protocol.time_points.count()
        opened = FollowUp.objects.filter(window_start__lt=TODAY).count()
        scheduled = SurveyResponse.objects.filter(follow_up__isnull=False).count()
        assert 0.6 * opened <= scheduled <= 0.9 * opened  # ~75% of the follow-ups whose window has opened

    def test_nothing_is_dated_after_today(self, seeded):
        # then
        start_of_today = timezone.make_aware(datetime.combine(TODAY, time.min))
        assert not DiagnosticBlock.objects.filter(performed_at__gte=start_of_today).exists()
        assert not DiaryEntry.objects.filter(recorded_at__gte=start_of_today).exists()
        assert not Cryoablation.objects.filter(performed_on__gte=TODAY).exists()
        assert not SurveyResponse.objects.filter(completed_at__gte=start_of_today).exists()

    def test_patients_are_valid_and_findable(self, seeded):
        # then
        for patient in Patient.objects.all():
            patient.full_clean()
            assert patient.search_name == patient_search_name(patient.first_name, patient.last_name)
            assert patient.mrn.startswith("D") and len(patient.mrn) == 8
            if patient.mobile_phone:
                assert phonenumbers.is_valid_number(phonenumbers.parse(patient.mobile_phone))
            if patient.email:
                assert patient.email.endswith("@example.org")
            age_years = (TODAY - patient.date_of_birth).days / 365.25
            assert 25 <= age_years <= 86

    def test_every_ablation_has_its_follow_ups_dated_by_the_protocol(self, seeded):
        # then
        time_points = list(protocol_get().time_points.all())
        for ablation in Cryoablation.objects.prefetch_related("follow_ups"):
            follow_ups = {f.time_point: f for f in ablation.follow_ups.all()}
            assert sorted(follow_ups) == sorted(tp.code for tp in time_points)
            for time_point in time_points:
                follow_up = follow_ups[time_point.code]
                assert follow_up.label == time_point.label
                assert (follow_up.target_date, follow_up.window_start, follow_up.window_end) == follow_up_dates(
                    ablation.performed_on, time_point
                )

    def test_qualifying_blocks_are_the_rules_pick(self, seeded):
        # then
        protocol = protocol_get()
        ablations = list(Cryoablation.objects.select_related("patient", "nerve"))
        for ablation in ablations:
            picked = qualifying_block_pick(
                patient=ablation.patient,
                nerve=ablation.nerve,
                side=ablation.side,
                performed_on=ablation.performed_on,
                protocol=protocol,
            )
            assert ablation.qualifying_block_id == (picked.pk if picked else None)
            assert ablation.qualifying_source == ("rule" if picked else "")

    def test_each_response_counts_for_the_follow_up_whose_window_holds_it(self, seeded):
        # then
        responses = list(SurveyResponse.objects.select_related("ablation"))
        assert responses
        for response in responses:
            expected = follow_up_for(ablation=response.ablation, completed_at=response.completed_at)
            assert response.follow_up_id == (expected.pk if expected else None)
        # and each follow-up is judged by its last answer, unless a repeat treatment superseded it
        for follow_up in FollowUp.objects.prefetch_related("responses"):
            last = max(follow_up.responses.all(), key=lambda r: (r.completed_at, r.recorded_at, r.pk), default=None)
            counted = None if last is None or follow_up.superseded_by_id else last.pk
            assert follow_up.counted_response_id == counted

    def test_every_seeded_row_has_one_insert_event_with_its_final_values(self, seeded):
        # then: one "insert" event per row of every seeded table, no "update" event (rows are recorded as they end up)
        for model, _ in ROWS.values():
            events = model.change_events.rel.related_model.objects
            assert sorted(events.filter(pgh_label="insert").values_list("pgh_obj_id", flat=True)) == sorted(
                model.objects.values_list("pk", flat=True)
            ), model.__name__
            assert not events.exclude(pgh_label="insert").exists(), model.__name__
        # and a follow-up's event holds the answer it counts
        answered = FollowUp.objects.filter(counted_response__isnull=False)
        assert answered.exists()
        for follow_up in answered:
            assert follow_up.change_events.get().counted_response_id == follow_up.counted_response_id
        # and the hash chains hold
        call_command("audit_verify", stdout=io.StringIO())

    def test_some_treatments_have_instrument_answers_that_the_report_counts(self, seeded):
        # then: PEG-3, PHQ-2 and GAD-2 answered, scored with their version, and evaluable at 3 months in the report
        answers = InstrumentAnswer.objects.select_related("instrument", "version")
        assert {a.instrument.code for a in answers} == {"peg3", "phq2", "gad2"}
        assert all(a.version.read().score(a.answers).total == a.score_total for a in answers)
        assert not answers.filter(completed_at__gte=timezone.make_aware(datetime.combine(TODAY, time.min))).exists()
        report = outcomes_compute(as_of=TODAY)
        peg3 = next(r for r in report.instruments if (r.group, r.instrument, r.time_point) == ("overall", "peg3", "3m"))
        assert peg3.evaluable > 0 and peg3.median_change is not None


@pytest.mark.django_db
def test_some_ablations_have_no_qualifying_block_and_some_responses_are_unscheduled():
    # when: enough patients for the rarer cases to turn up
    _seed("--patients", "400", "--seed", "7")

    # then
    assert Cryoablation.objects.filter(qualifying_block__isnull=True).exists()
    assert SurveyResponse.objects.filter(follow_up__isnull=True).exists()


@pytest.mark.django_db
def test_demo_users_are_in_their_role_groups():
    # when
    _seed("--patients", "1")

    # then
    for username, group in [("staff", "staff"), ("physician", "physician"), ("dr_okafor", "physician")]:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert user.has_role(group)
        assert not user.is_staff
    admin = User.objects.get(username="admin")
    assert admin.has_role("admin") and admin.is_staff and not admin.is_superuser
    assert User.objects.get(username="dr_lindqvist").get_full_name()


@pytest.mark.django_db
def test_a_database_with_patients_is_left_alone_without_force():
    # given
    Patient.objects.create(mrn="A1", first_name="Ana", last_name="Núñez", date_of_birth=date(1970, 1, 1))
    User.objects.filter(username="staff").delete()

    # when
    output = _seed("--patients", "20")

    # then
    assert "already holds 1 patients; nothing seeded. Use --force" in output
    assert Patient.objects.count() == 1
    assert not DiagnosticBlock.objects.exists()
    assert not User.objects.filter(username="staff").exists()


@pytest.mark.django_db
def test_force_adds_more_patients_numbered_on():
    # given
    _seed("--patients", "10", "--seed", "7")

    # when
    output = _seed("--patients", "10", "--seed", "7", "--force")

    # then
    assert "D0000011..D0000020" in output
    assert Patient.objects.count() == 20
    assert User.objects.filter(username__in=["staff", "physician", "admin"]).count() == 3


@pytest.mark.django_db
def test_a_today_after_the_real_one_is_refused():
    with pytest.raises(CommandError, match="after the clinic's date"):
        call_command(
            "seed_demo", "--today", (timezone.localdate() + timedelta(days=2)).isoformat(), stdout=io.StringIO()
        )
    assert not Patient.objects.exists()


def test_the_rows_name_every_column_of_the_models():
    # A field added to a model must be added to the seeder's rows, or the bulk writer would leave it to a default.
    for key, (model, row) in ROWS.items():
        assert set(row._fields) == {f.attname for f in model._meta.concrete_fields}, key


@pytest.mark.django_db
def test_the_first_patient_has_a_survey_open_today_that_staff_can_send(client):
    # when
    output = _seed("--patients", "5", "--seed", "7")

    # then: named on the console, reachable by email, its first follow-up due today and unanswered, after a
    # qualifying block
    assert "A survey open today: patient D0000001." in output
    patient = Patient.objects.get(mrn="D0000001")
    assert (patient.preferred_channel, patient.reminder_consent, patient.is_active) == ("email", True, True)
    assert patient.email.endswith("@example.org")
    follow_up = FollowUp.objects.get(ablation__patient=patient, target_date=TODAY)
    assert follow_up.counted_response_id is None and follow_up.ablation.qualifying_block is not None
    with time_machine.travel(datetime(2026, 6, 30, 15, 0, tzinfo=UTC), tick=False):
        client.force_login(User.objects.get(username="staff"))
        page = client.get(reverse("patients:detail", args=[patient.public_id])).text
    assert "Send now" in page and "Copy link" in page


@pytest.mark.django_db
def test_seeding_leaves_fresh_statistics_of_the_tables_it_wrote_derived_ones_included():
    # given statistics taken while the tables were empty
    bulk.tables_analyze()

    # when
    _seed("--patients", "20", "--seed", "7")

    # then
    counts = _counts()
    assert all(counts.values()), counts
    assert _reltuples() == counts


@pytest.mark.django_db
def test_the_demo_shows_every_kind_repeats_and_harms():
    # when
    _seed("--patients", "400", "--seed", "7")

    # then every kind of treatment is there, each with its own details only (the database's constraint)
    assert set(Cryoablation.objects.values_list("kind", flat=True)) == set(Kind.values)
    # some treatments were repeated: their later windows are superseded and got no survey
    superseded = FollowUp.objects.filter(superseded_by__isnull=False)
    assert superseded.exists()
    assert not SurveyResponse.objects.filter(follow_up__in=superseded).exists()
    # a few adverse events, some made by staff from a patient's "new problem", and recent new problems waiting
    assert AdverseEvent.objects.filter(source_response__isnull=True).exists()
    assert AdverseEvent.objects.filter(source_response__isnull=False).exists()
    waiting = SurveyResponse.objects.filter(new_problem=True, adverse_event__isnull=True)
    assert waiting.exists()
    assert all(response.new_problem_text for response in waiting)


@pytest.mark.django_db
def test_the_demo_has_opioid_users_some_tapering_or_stopping_after_treatment():
    # when
    _seed("--patients", "300", "--seed", "7")

    # then about a third of the treated patients take an opioid on their first treatment's day, by its MME
    treated = Patient.objects.filter(cryoablations__isnull=False).distinct().count()
    on_opioids = MedicationStatement.objects.values("patient").distinct().count()
    assert 0.2 * treated < on_opioids < 0.5 * treated
    # after treatment some stopped and some tapered to a lower dose the same day (a handover), others go on
    stopped = MedicationStatement.objects.filter(stopped_on__isnull=False)
    assert stopped.exists() and MedicationStatement.objects.filter(stopped_on__isnull=True).exists()
    assert MedicationStatement.objects.filter(started_on__in=stopped.values("stopped_on")).exists()
    # the report counts opioid users with MME figures (the database's rule)
    report = outcomes_compute_for(filters=outcomes_filters())
    overall_3m = next(r for r in report.opioids if r.group == "overall" and r.time_point == "3m")
    assert overall_3m.on_opioids > 0 and overall_3m.evaluable > 0 and overall_3m.reduced_50 > 0
