import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.cryoablations.models import Cryoablation
from apps.surveys.models import SurveyResponse
from tests.factories import BlockFactory, PatientFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def ablation_form(physician, **overrides):
    data = {
        "kind": "cryoablation",
        "performed_on": (TODAY - dt.timedelta(days=14)).isoformat(),
        "physician": physician.pk,
        "nerve": nerve().pk,
        "side": "left",
        "guidance": "ultrasound",
        "device": "Iovera",
        "probe": "190",
        "cycles": "2",
        "freeze_seconds": "120",
        "baseline_nrs": "7",
        "qualifying_block": "",
    }
    return data | overrides


def test_an_ablation_links_its_qualifying_block_and_schedules_five_follow_ups(staff_client, physician):
    block = BlockFactory(diary=[(15, 2), (30, 1)])
    response = staff_client.post(reverse("cryoablations:new", args=[block.patient.public_id]), ablation_form(physician))
    ablation = Cryoablation.objects.get()
    assert ablation.qualifying_block == block
    page = staff_client.get(response["Location"])
    assert "Qualifying block" in page.text
    assert page.text.count("Record answers") == 1  # only the 2-week follow-up's window has opened
    assert len(page.context["rows"]) == 5


def test_an_ablation_without_a_qualifying_block_says_so(staff_client, physician):
    patient = PatientFactory()
    response = staff_client.post(reverse("cryoablations:new", args=[patient.public_id]), ablation_form(physician))
    page = staff_client.get(response["Location"])
    assert "No qualifying block" in page.text


@pytest.mark.parametrize(
    ("block_fields", "message"),
    [
        ({"side": "right"}, "That block is of another nerve or side"),
        ({"nerve_code": "middle_cluneal"}, "That block is of another nerve or side"),
        ({"other_patient": True}, "Choose a block of this patient."),
    ],
)
def test_a_qualifying_block_of_another_patient_nerve_or_side_is_refused(staff_client, physician, block_fields, message):
    patient = PatientFactory()
    fields = {"patient": PatientFactory() if block_fields.get("other_patient") else patient}
    if "side" in block_fields:
        fields["side"] = block_fields["side"]
    if "nerve_code" in block_fields:
        fields["nerve"] = nerve(block_fields["nerve_code"])
    block = BlockFactory(**fields)
    data = ablation_form(physician, qualifying_block=str(block.pk))
    response = staff_client.post(reverse("cryoablations:new", args=[patient.public_id]), data)
    assert response.status_code == 200
    assert f"Qualifying block: {message}" in response.text
    assert 'value="Iovera"' in response.text
    assert not Cryoablation.objects.exists()


def test_a_named_block_that_the_rule_would_not_choose_is_flagged(staff_client, physician):
    old = BlockFactory(performed_at=timezone.now() - dt.timedelta(days=300), diary=[(30, 7)])
    data = ablation_form(physician, qualifying_block=str(old.pk))
    response = staff_client.post(reverse("cryoablations:new", args=[old.patient.public_id]), data)
    page = staff_client.get(response["Location"])
    assert "not positive under the protocol" in page.text
    assert "more than 180" in page.text


def test_an_ablation_in_the_future_is_refused(staff_client, physician):
    patient = PatientFactory()
    data = ablation_form(physician, performed_on=(TODAY + dt.timedelta(days=1)).isoformat())
    response = staff_client.post(reverse("cryoablations:new", args=[patient.public_id]), data)
    assert "Date: It cannot be in the future." in response.text
    assert not Cryoablation.objects.exists()


def test_staff_record_follow_up_answers_inside_the_window(staff_client, staff_user):
    ablation = make_ablation(patient=PatientFactory(), performed_on=TODAY - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    url = reverse("cryoablations:follow_up_answers", args=[follow_up.public_id])
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"completed_at": now, "collected_via": "phone", "pain_average": "3", "pgic": "2"}
    response = staff_client.post(url, data)
    assert response.status_code == 302
    answer = SurveyResponse.objects.get()
    assert (answer.follow_up, answer.pain_average, answer.recorded_by) == (follow_up, 3, staff_user)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"pain_average": ""}, "Average pain, past 24 hours: This field is required."),
        ({"pain_average": "11"}, "Average pain, past 24 hours: Ensure this value is less than or equal to 10."),
        ({"pain_worst": "7.5"}, "Worst pain, past 24 hours: Enter a whole number."),
        ({"percent_relief": "120"}, "Relief since the procedure (%): Ensure this value is less than or equal to 100."),
        ({"completed_at": "2020-01-01T10:00"}, "is outside the 2 weeks window"),
    ],
)
def test_bad_follow_up_answers_are_refused(staff_client, overrides, expected):
    ablation = make_ablation(patient=PatientFactory(), performed_on=TODAY - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    data = {
        "completed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "collected_via": "phone",
        "pain_average": "3",
    }
    response = staff_client.post(
        reverse("cryoablations:follow_up_answers", args=[follow_up.public_id]), data | overrides
    )
    assert response.status_code == 200
    assert expected in response.text
    assert not SurveyResponse.objects.exists()


def test_answers_recorded_from_the_worklist_return_to_the_same_worklist_view(staff_client):
    # given: staff on page 1 of the overdue 2-week follow-ups follow a row's "Record answers"
    make_ablation(patient=PatientFactory(last_name="Keepme"), performed_on=TODAY - dt.timedelta(days=20))
    ablation = make_ablation(patient=PatientFactory(), performed_on=TODAY - dt.timedelta(days=20))
    follow_up = ablation.follow_ups.get(time_point="2w")
    worklist = reverse("cryoablations:worklist") + "?status=overdue&time_point=2w&page=1"
    page = staff_client.get(worklist).text
    answers = reverse("cryoablations:follow_up_answers", args=[follow_up.public_id])
    link = re.search(rf'href="({re.escape(answers)}[^"]*)"', page).group(1).replace("&amp;", "&")
    form = staff_client.get(link).text
    assert 'name="next" value="' + worklist.replace("&", "&amp;") + '"' in form

    # when
    data = {"completed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "collected_via": "phone"}
    response = staff_client.post(link, data | {"pain_average": "3", "next": worklist})

    # then
    assert response.status_code == 302 and response["Location"] == worklist
    assert "Keepme" in staff_client.get(response["Location"]).text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_answers_never_return_to_another_site(staff_client, target):
    # given
    ablation = make_ablation(patient=PatientFactory(), performed_on=TODAY - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    data = {"completed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "collected_via": "phone"}

    # when
    response = staff_client.post(
        reverse("cryoablations:follow_up_answers", args=[follow_up.public_id]),
        data | {"pain_average": "3", "next": target},
    )

    # then: the ablation's page, as without a `next`
    assert response["Location"] == reverse("cryoablations:detail", args=[ablation.public_id])
