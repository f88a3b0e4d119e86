import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.instruments.services import instrument_answer_record
from apps.medications.services import medication_statement_create
from apps.patients.models import Patient
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db

VALID = {
    "mrn": "a100200",
    "first_name": "José",
    "last_name": "García",
    "date_of_birth": "1961-03-04",
    "sex": "M",
    "email": "jose@example.org",
    "mobile_phone": "(212) 555-0123",
    "preferred_channel": "sms",
    "language": "es",
    "timezone": "America/New_York",
    "reminder_consent": "on",
    "is_active": "on",
}


def test_staff_register_a_patient_with_a_normalised_phone_and_mrn(staff_client):
    response = staff_client.post(reverse("patients:new"), VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.public_id])
    assert patient.mrn == "A100200"
    assert patient.mobile_phone == "+12125550123"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mobile_phone", "12345", "is not a valid phone number"),
        ("date_of_birth", "2999-01-01", "cannot be in the future"),
        ("date_of_birth", "1890-01-01", "more than 120 years ago"),
        ("email", "not-an-email", "Enter a valid email address"),
        ("preferred_channel", "email", None),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_keeps_what_was_typed(staff_client, field, value, message):
    data = VALID | {field: value}
    if field == "preferred_channel":
        data["email"] = ""
        message = "Enter an email address to send reminders by email"
        field = "email"
    response = staff_client.post(reverse("patients:new"), data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert "Nothing was saved" in response.text
    assert 'value="García"' in response.text
    assert not Patient.objects.exists()


def test_a_duplicate_mrn_names_the_patient_who_has_it(staff_client):
    existing = PatientFactory(mrn="A100200", first_name="Maria", last_name="Lopez")
    response = staff_client.post(reverse("patients:new"), VALID)
    assert response.status_code == 200
    assert "MRN A100200 already belongs to" in response.text
    assert "Maria Lopez" in response.text
    assert reverse("patients:detail", args=[existing.public_id]) in response.text
    assert Patient.objects.count() == 1


def test_search_by_name_ignores_case_and_accents(staff_client):
    jose = PatientFactory(first_name="José", last_name="García")
    PatientFactory(first_name="Zoë", last_name="Müller")
    page = staff_client.get(reverse("patients:list"), {"q": "jose GARC"})
    assert [p.pk for p in page.context["page"]] == [jose.pk]
    page = staff_client.get(reverse("patients:list"), {"q": "muller"})
    assert [p.last_name for p in page.context["page"]] == ["Müller"]


def test_search_by_mrn_prefix(staff_client):
    PatientFactory(mrn="X7001")
    PatientFactory(mrn="X7002")
    PatientFactory(mrn="Y7003")
    page = staff_client.get(reverse("patients:list"), {"q": "x70"})
    assert sorted(p.mrn for p in page.context["page"]) == ["X7001", "X7002"]


@pytest.mark.parametrize("query", ["WLK-0001", "wlk-0001", "WLK", "wlk-", " wlk-00 "])
def test_search_finds_an_mrn_with_hyphens_or_letters_first_by_any_prefix_in_any_case(staff_client, query):
    # given an MRN as staff type it on the form (stored upper case)
    staff_client.post(reverse("patients:new"), VALID | {"mrn": "wlk-0001"})
    PatientFactory(mrn="WLX-0001")
    # when
    page = staff_client.get(reverse("patients:list"), {"q": query})
    # then
    assert [p.mrn for p in page.context["page"]] == ["WLK-0001"]
    assert "No patient matches" not in page.text


@pytest.mark.parametrize(("mrn", "query"), [("AB.12.34", "ab.12"), ("AB 1234", "ab 12"), ("12_34%", "12_34")])
def test_search_finds_mrns_with_dots_spaces_and_like_wildcards_literally(staff_client, mrn, query):
    PatientFactory(mrn=mrn)
    PatientFactory(mrn="ABX1234")
    PatientFactory(mrn="12X345")
    page = staff_client.get(reverse("patients:list"), {"q": query})
    assert [p.mrn for p in page.context["page"]] == [mrn]


def test_the_search_can_be_answered_by_the_indexes_alone(db, staff_user):
    # given the planner told that reading the whole table is the last resort (the test's table is small; at 100,000
    # patients it picks the same bitmap scan by itself)
    from django.db import connection

    from apps.patients.selectors import patient_search

    PatientFactory(mrn="WLK-0001")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # when
    plans = [patient_search(query=q, user=staff_user).explain() for q in ("m00012-", "wlk", "b12 a")]
    # then both the MRN prefix and the name words are found through their indexes, not a read of every row
    for plan in plans:
        assert "Seq Scan" not in plan
        assert "patient_mrn_prefix" in plan
        assert "patient_search_name" in plan


def test_patient_urls_carry_a_random_id_not_the_mrn_or_pk(staff_client):
    patient = PatientFactory()
    url = reverse("patients:detail", args=[patient.public_id])
    assert patient.mrn not in url
    assert f"/{patient.pk}/" not in url


def patient_with_history(n):
    patient = PatientFactory()
    for i in range(n):
        block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(days=40 + i), diary=[(30, 1)])
        make_ablation(
            patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=20 + i), physician=block.physician
        )
    return patient


def test_the_patient_page_uses_the_same_queries_however_long_the_history(staff_client):
    counts = []
    for n in (1, 6):
        patient = patient_with_history(n)
        for i in range(n):  # opioids, for the trend chart's MME curve
            medication_statement_create(
                patient=patient,
                opioid="oxycodone",
                daily_dose=Decimal(10 + i),
                started_on=timezone.localdate() - dt.timedelta(days=60 + i),
                stopped_on=timezone.localdate() - dt.timedelta(days=5 + i),
            )
        for treatment in patient.cryoablations.all():  # and PEG-3 answers, for its function panel
            instrument_answer_record(
                treatment=treatment,
                instrument="peg3",
                completed_at=timezone.now() - dt.timedelta(days=1),
                answers={"1": 4, "2": 5, "3": 6},
                collected_via="staff",
            )
        staff_client.get(reverse("patients:list"))  # the session's renewal, at most once a minute, comes first
        with CaptureQueriesContext(connection) as queries:
            page = staff_client.get(reverse("patients:detail", args=[patient.public_id]))
        assert page.status_code == 200
        counts.append(len(queries))
    # 19: the adverse events of the timeline and the list, one query; the opioid list, its review and today's MME;
    # 20: the trend chart's MME curve (its pain series is read with the timeline); 21: its instruments' answers;
    # 22: whether the registry is a network of sites, whose users see only their sites' patients (visible_to);
    # 23: the same question at the request's start, whether to scope it in the database (apps.clinic.row_security)
    assert counts[0] == counts[1] <= 23


def test_the_timeline_shows_blocks_ablations_follow_ups_and_answers_newest_first(staff_client):
    patient = patient_with_history(1)
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id]))
    kinds = [event.kind for event in page.context["timeline"]]
    assert kinds.count("block") == 1 and kinds.count("ablation") == 1 and kinds.count("follow_up") == 5
    dates = [event.at for event in page.context["timeline"]]
    assert dates == sorted(dates, reverse=True)
    assert "Positive" in page.text


def test_printing_the_summary_is_recorded_as_a_print_of_that_patient(staff_client, staff_user):
    from apps.audit.models import AccessEvent, Action

    # given
    patient = patient_with_history(1)
    # when
    page = staff_client.get(reverse("patients:print", args=[patient.public_id]))
    # then
    assert page.status_code == 200
    assert "confidential" in page.text and patient.mrn in page.text
    event = AccessEvent.objects.get(action=Action.PRINT)
    assert (event.patient_id, event.actor_id) == (patient.pk, staff_user.pk)
