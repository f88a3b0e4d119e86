"""Treatments of every kind and adverse events in the API: /api/v1/treatments/ (kind and every detail, null where
not recorded; the qualifying block; each follow-up's superseding treatment), /api/v1/ablations/ kept as version 1's
cryoablations, and /api/v1/adverse-events/ (list with filters, detail, create with a read-write token through
apps.adverse_events.services, 400 naming each bad field and nothing written)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.adverse_events.models import AdverseEvent
from apps.adverse_events.services import adverse_event_create
from apps.audit.models import Action
from apps.cryoablations.models import DETAILS, KIND_DETAILS, Kind
from tests.api.test_api import bearer, events_after, last_event_id
from tests.factories import BlockFactory, PatientFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def rf_treatment(patient, *, performed_on=None, **fields):
    return make_ablation(
        patient=patient,
        performed_on=performed_on or TODAY - dt.timedelta(days=20),
        kind=Kind.RF_CONVENTIONAL,
        cannula_gauge=18,
        active_tip_mm=10,
        temperature_c=80,
        lesion_seconds=90,
        lesions=2,
        **fields,
    )


def new_event(**fields) -> dict:
    return {
        "occurred_on": (TODAY - dt.timedelta(days=5)).isoformat(),
        "category": "neuritis",
        "severity": "moderate",
        "serious": False,
        "relatedness": "probable",
        "notes": "Burning pain along the scar",
        **fields,
    }


# Treatments


def test_a_treatment_shows_its_kind_and_every_detail_null_where_its_kind_records_none(staff_user):
    # given an RF treatment after a block of the same nerve and side
    patient = PatientFactory()
    block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(days=30), diary=[(30, 1)])
    treatment = rf_treatment(patient, nerve=block.nerve, side=block.side, qualifying_block=block)
    # when
    response = bearer(staff_user, read_only=True).get(reverse("api:treatment_detail", args=[treatment.public_id]))
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["kind_label"]) == ("rf_conventional", "Conventional radiofrequency")
    assert {name: body[name] for name in KIND_DETAILS[Kind.RF_CONVENTIONAL]} == {
        "cannula_gauge": 18,
        "active_tip_mm": "10.0",
        "temperature_c": 80,
        "lesion_seconds": 90,
        "lesions": 2,
    }
    assert all(body[name] is None for name in DETAILS if name not in KIND_DETAILS[Kind.RF_CONVENTIONAL])
    assert body["qualifying_block"] == str(block.public_id)
    assert body["qualifying_source"] == "staff"
    assert body["superseded_by"] is None
    assert [f["superseded_by"] for f in body["follow_ups"]] == [None] * len(body["follow_ups"])


def test_a_repeat_treatment_shows_on_the_earlier_one_and_on_its_later_follow_ups(staff_user):
    # given a cryoablation repeated by RF 100 days later (same nerve and side)
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=300), side="left")
    repeat = rf_treatment(patient, performed_on=TODAY - dt.timedelta(days=200), nerve=first.nerve, side="left")
    client = bearer(staff_user, read_only=True)
    # when
    body = client.get(reverse("api:treatment_detail", args=[first.public_id])).json()
    # then
    assert body["superseded_by"] == str(repeat.public_id)
    assert body["repeat_on"] == repeat.performed_on.isoformat()
    by_time_point = {f["time_point"]: f for f in body["follow_ups"]}
    assert by_time_point["3m"]["superseded_by"] is None
    assert by_time_point["6m"]["superseded_by"] == str(repeat.public_id)
    assert by_time_point["6m"]["status"] == "superseded"
    # and the follow-up itself says so, naming its treatment
    follow_up = first.follow_ups.get(time_point="6m")
    row = client.get(reverse("api:follow_up_detail", args=[follow_up.public_id])).json()
    assert row["superseded_by"] == str(repeat.public_id)
    assert row["treatment"] == row["ablation"] == str(first.public_id)


def test_the_treatment_list_filters_by_kind_and_patient(staff_user):
    # given
    ana, ben = PatientFactory(), PatientFactory()
    cryo = make_ablation(patient=ana)
    rf = rf_treatment(ana, nerve=nerve("middle_cluneal"))
    other = rf_treatment(ben)
    client = bearer(staff_user, read_only=True)
    url = reverse("api:treatment_list")

    def ids(**params) -> set[str]:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    # then
    assert ids() == {str(cryo.public_id), str(rf.public_id), str(other.public_id)}
    assert ids(kind="rf_conventional") == {str(rf.public_id), str(other.public_id)}
    assert ids(kind="rf_conventional", patient=str(ana.public_id)) == {str(rf.public_id)}
    assert ids(kind="pns_permanent") == set()


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"kind": "laser"}, "kind"),
        ({"patient": "not-a-uuid"}, "patient"),
        ({"patient": "00000000-0000-0000-0000-000000000000"}, "patient"),
        ({"kind": ""}, "kind"),
    ],
)
def test_a_bad_treatment_filter_is_a_400_naming_it(staff_user, params, named):
    response = bearer(staff_user).get(reverse("api:treatment_list"), params)
    assert response.status_code == 400
    assert list(response.json()) == [named]


def test_the_ablation_endpoints_stay_version_1_cryoablations(staff_user):
    # given a cryoablation and an RF treatment
    patient = PatientFactory()
    cryo = make_ablation(patient=patient, device="Iovera", probe="Smart Tip", cycles=2, freeze_seconds=60)
    rf = rf_treatment(patient, nerve=nerve("middle_cluneal"))
    client = bearer(staff_user, read_only=True)
    # when
    listed = client.get(reverse("api:ablation_list")).json()
    # then the list holds the cryoablation only, with its version 1 fields
    [row] = listed["results"]
    assert row["id"] == str(cryo.public_id)
    assert (row["device"], row["probe"], row["cycles"], row["freeze_seconds"]) == ("Iovera", "Smart Tip", 2, 60)
    assert client.get(reverse("api:ablation_detail", args=[cryo.public_id])).status_code == 200
    # and a treatment of another kind is not an ablation, but is a treatment
    missing = client.get(reverse("api:ablation_detail", args=[rf.public_id]))
    assert missing.status_code == 404
    assert "/api/v1/treatments/" in missing.json()["detail"]
    assert client.get(reverse("api:treatment_detail", args=[rf.public_id])).status_code == 200


def test_reading_treatments_is_an_access_event_naming_the_patients(staff_user):
    # given
    patient = PatientFactory()
    treatment = rf_treatment(patient)
    client = bearer(staff_user, read_only=True)
    last = last_event_id()
    # when
    client.get(reverse("api:treatment_list"))
    client.get(reverse("api:treatment_detail", args=[treatment.public_id]))
    # then
    listed, viewed = events_after(last)
    assert (listed.action, listed.detail["listed"]) == (Action.LIST, [patient.pk])
    assert (viewed.action, viewed.patient_id, viewed.object_id) == (Action.VIEW, patient.pk, str(treatment.public_id))


# Adverse events


def test_an_adverse_event_is_created_with_a_read_write_token_and_read_back(staff_user):
    # given
    patient = PatientFactory()
    treatment = rf_treatment(patient)
    client = bearer(staff_user)
    # when
    response = client.post(
        reverse("api:adverse_event_list"),
        new_event(treatment=str(treatment.public_id)),
        content_type="application/json",
    )
    # then
    assert response.status_code == 201, response.content
    event = AdverseEvent.objects.get()
    assert (event.treatment, event.block, event.category, event.severity, event.relatedness) == (
        treatment,
        None,
        "neuritis",
        "moderate",
        "probable",
    )
    assert event.recorded_by == staff_user
    assert response["Location"] == f"http://testserver/api/v1/adverse-events/{event.public_id}/"
    body = response.json()
    assert (body["id"], body["patient"], body["treatment"], body["block"]) == (
        str(event.public_id),
        str(patient.public_id),
        str(treatment.public_id),
        None,
    )
    assert body["category_label"] == "Neuritis (new burning pain or dysesthesia)"
    assert client.get(response["Location"]).json() == body


def test_an_adverse_event_on_a_block(staff_user):
    # given
    block = BlockFactory(performed_at=timezone.now() - dt.timedelta(days=3))
    # when
    response = bearer(staff_user).post(
        reverse("api:adverse_event_list"),
        new_event(block=str(block.public_id), occurred_on=TODAY.isoformat(), category="vasovagal", serious=True),
        content_type="application/json",
    )
    # then
    assert response.status_code == 201, response.content
    event = AdverseEvent.objects.get()
    assert (event.block, event.treatment, event.serious) == (block, None, True)


def test_a_read_only_token_cannot_create_an_adverse_event(staff_user):
    treatment = rf_treatment(PatientFactory())
    response = bearer(staff_user, read_only=True).post(
        reverse("api:adverse_event_list"),
        new_event(treatment=str(treatment.public_id)),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"category": "gremlins"}, ["category"]),
        ({"severity": "extreme"}, ["severity"]),
        ({"relatedness": "maybe"}, ["relatedness"]),
        ({"occurred_on": "2026-02-30"}, ["occurred_on"]),
        ({"serious": "true"}, ["serious"]),
        ({"notes": 12}, ["notes"]),
        ({"treatment": 12}, ["treatment"]),
        ({"treatment": "00000000-0000-0000-0000-000000000000"}, ["treatment"]),
        ({"colour": "red"}, ["colour"]),
        ({"occurred_on": None}, ["occurred_on"]),
        ({"notes": "a\x00b"}, ["notes"]),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(staff_user, change, named):
    # given
    treatment = rf_treatment(PatientFactory())
    # when
    response = bearer(staff_user).post(
        reverse("api:adverse_event_list"),
        new_event(treatment=str(treatment.public_id)) | change,
        content_type="application/json",
    )
    # then
    assert response.status_code == 400, response.content
    assert list(response.json()) == named
    assert not AdverseEvent.objects.exists()


def test_an_event_before_its_procedure_is_a_400_naming_occurred_on(staff_user):
    # given a treatment 20 days ago
    treatment = rf_treatment(PatientFactory())
    # when the event is dated the day before it
    day_before = treatment.performed_on - dt.timedelta(days=1)
    response = bearer(staff_user).post(
        reverse("api:adverse_event_list"),
        new_event(treatment=str(treatment.public_id), occurred_on=day_before.isoformat()),
        content_type="application/json",
    )
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["occurred_on"]
    assert treatment.performed_on.isoformat() in response.json()["occurred_on"][0]
    assert not AdverseEvent.objects.exists()


def test_an_event_resolved_before_it_began_is_a_400_naming_resolved_on(staff_user):
    treatment = rf_treatment(PatientFactory())
    response = bearer(staff_user).post(
        reverse("api:adverse_event_list"),
        new_event(
            treatment=str(treatment.public_id),
            occurred_on=TODAY.isoformat(),
            resolved_on=(TODAY - dt.timedelta(days=1)).isoformat(),
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["resolved_on"]
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize("which", ["both", "neither"])
def test_an_event_on_both_or_neither_procedure_is_a_400_naming_both(staff_user, which):
    # given
    patient = PatientFactory()
    treatment = rf_treatment(patient)
    block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(days=30))
    ids = {"treatment": str(treatment.public_id), "block": str(block.public_id)} if which == "both" else {}
    # when
    response = bearer(staff_user).post(
        reverse("api:adverse_event_list"), new_event(**ids), content_type="application/json"
    )
    # then
    assert response.status_code == 400
    assert sorted(response.json()) == ["block", "treatment"]
    assert not AdverseEvent.objects.exists()


def test_the_adverse_event_list_filters_by_treatment_block_and_patient(staff_user):
    # given events on Ana's treatment and block, and on Ben's treatment
    ana, ben = PatientFactory(), PatientFactory()
    ana_treatment, ben_treatment = rf_treatment(ana), rf_treatment(ben)
    ana_block = BlockFactory(patient=ana, performed_at=timezone.now() - dt.timedelta(days=40))
    common = {"category": "bleeding", "severity": "mild", "relatedness": "definite"}
    on_treatment = adverse_event_create(treatment=ana_treatment, occurred_on=TODAY, **common)
    on_block = adverse_event_create(block=ana_block, occurred_on=TODAY, **common)
    on_ben = adverse_event_create(treatment=ben_treatment, occurred_on=TODAY, **common)
    client = bearer(staff_user, read_only=True)

    def ids(**params) -> set[str]:
        response = client.get(reverse("api:adverse_event_list"), params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    # then
    assert ids() == {str(e.public_id) for e in (on_treatment, on_block, on_ben)}
    assert ids(treatment=str(ana_treatment.public_id)) == {str(on_treatment.public_id)}
    assert ids(block=str(ana_block.public_id)) == {str(on_block.public_id)}
    assert ids(patient=str(ana.public_id)) == {str(on_treatment.public_id), str(on_block.public_id)}
    # and a filter naming nothing is a 400 naming it, not an empty list
    response = client.get(reverse("api:adverse_event_list"), {"block": str(ana_treatment.public_id)})
    assert (response.status_code, list(response.json())) == (400, ["block"])


def test_reading_an_adverse_event_is_an_access_event_naming_its_patient(staff_user):
    # given
    patient = PatientFactory()
    event = adverse_event_create(
        treatment=rf_treatment(patient),
        occurred_on=TODAY,
        category="infection",
        severity="mild",
        relatedness="possible",
    )
    last = last_event_id()
    # when
    response = bearer(staff_user, read_only=True).get(reverse("api:adverse_event_detail", args=[event.public_id]))
    # then
    assert response.status_code == 200
    [viewed] = events_after(last)
    assert (viewed.action, viewed.patient_id, viewed.object_id) == (Action.VIEW, patient.pk, str(event.public_id))
