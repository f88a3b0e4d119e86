"""Treatment kinds and repeat treatment (outcome-definitions.md, Version 2: Treatments)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.cryoablations.models import Cryoablation, FollowUp, Kind, Status
from apps.cryoablations.selectors import worklist
from apps.reminders.models import Message, MessageStatus
from apps.surveys.services import ablation_update, response_record
from tests.factories import PatientFactory, UserFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def at_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def superseded(ablation: Cryoablation) -> dict[str, int | None]:
    return dict(FollowUp.objects.filter(ablation=ablation).values_list("time_point", "superseded_by"))


@pytest.mark.parametrize(
    "kind, detail, value",
    [
        (Kind.CRYOABLATION, "temperature_c", 80),
        (Kind.RF_CONVENTIONAL, "freeze_seconds", 120),
        (Kind.RF_PULSED, "temperature_c", 42),
        (Kind.PNS_PERMANENT, "removed_on", TODAY),
        (Kind.PNS_TEMPORARY, "probe", "CryoProbe 1"),
    ],
)
def test_a_detail_of_another_kind_is_refused_by_the_model_and_by_the_database(kind, detail, value):
    patient = PatientFactory()
    ablation = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=3), kind=kind)
    setattr(ablation, detail, value)
    with pytest.raises(ValidationError) as refused:
        ablation.full_clean()
    assert detail in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        ablation.save()


def test_each_kind_keeps_its_own_details():
    patient = PatientFactory()
    rf = make_ablation(
        patient=patient,
        kind=Kind.RF_COOLED,
        cannula_gauge=17,
        active_tip_mm=4,
        temperature_c=60,
        lesion_seconds=150,
        lesions=3,
    )
    pns = make_ablation(
        patient=patient,
        nerve=nerve("tibial"),
        kind=Kind.PNS_TEMPORARY,
        device="SPRINT PNS",
        leads=2,
        removed_on=TODAY,
    )
    rf.refresh_from_db()
    pns.refresh_from_db()
    assert (rf.kind, rf.temperature_c, rf.cycles) == ("rf_cooled", 60, None)
    assert (pns.device, pns.leads, pns.removed_on) == ("SPRINT PNS", 2, TODAY)


def test_leads_removed_before_the_treatment_are_refused():
    patient = PatientFactory()
    with pytest.raises(ValidationError) as refused:
        make_ablation(patient=patient, kind=Kind.PNS_TEMPORARY, leads=1, removed_on=TODAY - dt.timedelta(days=30))
    assert "removed_on" in refused.value.message_dict


def test_a_repeat_supersedes_the_time_points_whose_window_starts_after_its_date():
    # given a treatment 200 days ago: its 6-month window starts on day 150, its 12-month window on day 330
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=200))
    assert set(superseded(first).values()) == {None}
    # when it is repeated on day 150 (a window starting on the repeat day is not after it), of another kind
    repeat = make_ablation(patient=patient, performed_on=first.performed_on + dt.timedelta(days=150), kind="rf_pulsed")
    # then only the 12-month time point is superseded, by the repeat
    assert superseded(first) == {"2w": None, "1m": None, "3m": None, "6m": None, "12m": repeat.pk}
    assert set(superseded(repeat).values()) == {None}
    twelve = FollowUp.objects.get(ablation=first, time_point="12m")
    assert twelve.status(TODAY, completed=False) == Status.SUPERSEDED


def test_the_earliest_later_treatment_supersedes_and_the_same_day_or_another_side_does_not():
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=300))
    make_ablation(patient=patient, performed_on=first.performed_on)  # the same day: not later
    make_ablation(patient=patient, performed_on=first.performed_on + dt.timedelta(days=20), side="bilateral")
    make_ablation(patient=patient, performed_on=first.performed_on + dt.timedelta(days=20), nerve=nerve("tibial"))
    assert set(superseded(first).values()) == {None}
    later = make_ablation(patient=patient, performed_on=first.performed_on + dt.timedelta(days=100))
    earlier = make_ablation(patient=patient, performed_on=first.performed_on + dt.timedelta(days=60))
    assert superseded(first) == {"2w": None, "1m": None, "3m": earlier.pk, "6m": earlier.pk, "12m": earlier.pk}
    assert superseded(earlier)["12m"] == later.pk


def test_an_answer_in_a_superseded_window_counts_for_nothing_and_comes_back_when_the_repeat_moves():
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=120))
    three_months = FollowUp.objects.get(ablation=first, time_point="3m")
    response_record(
        ablation=first,
        completed_at=at_noon(first.performed_on + dt.timedelta(days=90)),
        pain_average=2,
        collected_via="phone",
    )
    three_months.refresh_from_db()
    assert three_months.counted_response is not None
    # a repeat on day 70 supersedes the 3-month time point (window from day 75): its answer no longer counts
    repeat = make_ablation(patient=patient, performed_on=first.performed_on + dt.timedelta(days=70))
    three_months.refresh_from_db()
    assert (three_months.superseded_by, three_months.counted_response) == (repeat, None)
    # the repeat's date corrected to day 80: the window started on or before it, and the answer counts again
    ablation_update(ablation=repeat, performed_on=first.performed_on + dt.timedelta(days=80))
    three_months.refresh_from_db()
    assert three_months.superseded_by is None and three_months.counted_response is not None


def test_a_superseded_follow_up_stops_its_queued_reminders_and_leaves_the_worklist():
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=160))
    six_months = FollowUp.objects.get(ablation=first, time_point="6m")
    queued = Message.objects.create(
        patient=patient, follow_up=six_months, kind="reminder", channel="email", due_at=timezone.now()
    )
    make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=20))
    queued.refresh_from_db()
    assert (queued.status, queued.detail) == (MessageStatus.CANCELLED, "superseded by a repeat treatment")
    assert six_months not in worklist(today=TODAY)


def test_the_answers_page_of_a_superseded_follow_up_says_an_answer_there_is_never_counted(client):
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=160))
    make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=20), kind=Kind.RF_PULSED)
    six_months = FollowUp.objects.get(ablation=first, time_point="6m")
    client.force_login(UserFactory(role=Role.STAFF))
    page = client.get(f"/treatments/follow-ups/{six_months.public_id}/answers/").content.decode()
    assert "superseded by the pulsed radiofrequency of" in page
    assert "never counted" in page
