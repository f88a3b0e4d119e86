import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.api.models import ApiToken, token_hash
from apps.api.services import token_issue, token_revoke
from apps.audit.models import AccessEvent, Action
from apps.patients.models import Patient
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
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
    "reminder_consent": True,
    "is_active": True,
}


def bearer(user, *, read_only=False, expires_at=None, **kwargs) -> Client:
    """A client that sends a fresh token of `user` (no session)."""
    expires_at = expires_at or timezone.now() + dt.timedelta(days=30)
    _, raw = token_issue(user=user, name="tests", expires_at=expires_at, read_only=read_only, **kwargs)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def events_after(last: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(id__gt=last).order_by("id"))


def last_event_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_token_is_stored_as_a_hash_only(staff_user):
    # when
    token, raw = token_issue(user=staff_user, name="EHR", expires_at=timezone.now() + dt.timedelta(days=1))
    # then
    token.refresh_from_db()
    assert token.key_hash == token_hash(raw)
    assert raw not in {token.key_hash, token.key_prefix, token.name}
    assert raw.startswith(token.key_prefix)


def test_a_valid_token_reads_patients(staff_user):
    # given
    patient = PatientFactory(last_name="Zephyrine")
    client = bearer(staff_user, read_only=True)
    # when
    response = client.get(reverse("api:patient_list"), {"q": "zephyr"})
    # then
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(patient.public_id)]
    assert ApiToken.objects.get(user=staff_user).last_used_at is not None


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown", "user_inactive"])
def test_unusable_tokens_get_401(staff_user, state):
    # given
    client = bearer(staff_user, expires_at=timezone.now() - dt.timedelta(seconds=1) if state == "expired" else None)
    token = ApiToken.objects.get(user=staff_user)
    if state == "revoked":
        token_revoke(token)
    if state == "unknown":
        client = Client(HTTP_AUTHORIZATION="Bearer prg_never-issued")
    if state == "user_inactive":
        staff_user.is_active = False
        staff_user.save()
    # when
    response = client.get(reverse("api:patient_list"))
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_anonymous_gets_401_not_a_redirect():
    # when
    response = Client().get(reverse("api:patient_list"))
    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_the_browser_session_works_too(staff_client):
    # given
    patient = PatientFactory()
    # when
    response = staff_client.get(reverse("api:patient_detail", args=[patient.public_id]))
    # then
    assert response.status_code == 200
    assert response.json()["mrn"] == patient.mrn


def test_a_read_only_token_cannot_write(staff_user):
    # given
    patient = PatientFactory(first_name="Ana")
    client = bearer(staff_user, read_only=True)
    url = reverse("api:patient_detail", args=[patient.public_id])
    etag = client.get(url)["ETag"]
    # when
    created = client.post(reverse("api:patient_list"), NEW_PATIENT, content_type="application/json")
    changed = client.patch(url, {"first_name": "Eve"}, content_type="application/json", HTTP_IF_MATCH=etag)
    # then
    assert (created.status_code, changed.status_code) == (403, 403)
    assert created.json() == {"detail": "This token is read-only."}
    assert not Patient.objects.filter(mrn="A100200").exists()
    patient.refresh_from_db()
    assert patient.first_name == "Ana"


def test_a_user_without_a_role_is_refused_what_the_pages_refuse():
    # given
    patient = PatientFactory()
    block = BlockFactory(patient=patient)
    ablation = make_ablation(patient=patient)
    client = bearer(UserFactory())  # signed in, no role: the pages answer 403
    urls = [
        reverse("api:patient_list"),
        reverse("api:patient_detail", args=[patient.public_id]),
        reverse("api:block_detail", args=[block.public_id]),
        reverse("api:ablation_detail", args=[ablation.public_id]),
    ]
    last = last_event_id()
    # when
    statuses = [client.get(url).status_code for url in urls]
    created = client.post(reverse("api:patient_list"), NEW_PATIENT, content_type="application/json")
    # then
    assert statuses == [403, 403, 403, 403]
    assert created.status_code == 403
    assert events_after(last) == []


def test_create_then_read_back_the_same(staff_user):
    # given
    client = bearer(staff_user)
    # when
    created = client.post(reverse("api:patient_list"), NEW_PATIENT, content_type="application/json")
    read = client.get(created["Location"])
    # then
    assert created.status_code == 201
    assert read.status_code == 200
    assert read.json() == created.json()
    assert read["ETag"] == created["ETag"]
    body = read.json()
    assert (body["mrn"], body["mobile_phone"], body["first_name"]) == ("A100200", "+12125550123", "José")
    assert Patient.objects.get(public_id=body["id"]).last_name == "García"


def test_validation_errors_name_each_field(staff_user):
    # given
    PatientFactory(mrn="A100200")
    client = bearer(staff_user)
    bad = {**NEW_PATIENT, "mobile_phone": "12", "date_of_birth": "2999-01-01", "first_name": ""}
    # when
    response = client.post(reverse("api:patient_list"), bad, content_type="application/json")
    # then
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"mrn", "mobile_phone", "date_of_birth", "first_name"}
    assert errors["mrn"][0].startswith("MRN A100200 already belongs to")
    assert "<a" not in errors["mrn"][0]
    assert errors["mobile_phone"][0] == "“12” is not a valid phone number."


def test_update_with_the_current_etag(staff_user):
    # given
    patient = PatientFactory(first_name="Ana", email="ana@example.org")
    client = bearer(staff_user)
    url = reverse("api:patient_detail", args=[patient.public_id])
    etag = client.get(url)["ETag"]
    # when
    response = client.patch(url, {"first_name": "Anabel"}, content_type="application/json", HTTP_IF_MATCH=etag)
    # then
    assert response.status_code == 200
    assert response["ETag"] != etag
    patient.refresh_from_db()
    assert (patient.first_name, patient.email) == ("Anabel", "ana@example.org")
    assert response.json()["first_name"] == "Anabel"


def test_a_stale_etag_gets_412_and_changes_nothing(staff_user, physician):
    # given: two people read the same record, the first saves
    patient = PatientFactory(first_name="Ana")
    url = reverse("api:patient_detail", args=[patient.public_id])
    first, second = bearer(staff_user), bearer(physician)
    first_etag, second_etag = first.get(url)["ETag"], second.get(url)["ETag"]
    saved = first.patch(url, {"first_name": "Anna"}, content_type="application/json", HTTP_IF_MATCH=first_etag)
    assert saved.status_code == 200
    # when: the second saves with what they read
    late = second.patch(url, {"first_name": "Hanna"}, content_type="application/json", HTTP_IF_MATCH=second_etag)
    # then
    assert late.status_code == 412
    patient.refresh_from_db()
    assert patient.first_name == "Anna"


def test_an_update_without_if_match_gets_428(staff_user):
    # given
    patient = PatientFactory(first_name="Ana")
    client = bearer(staff_user)
    url = reverse("api:patient_detail", args=[patient.public_id])
    # when
    responses = [
        client.patch(url, {"first_name": "Eve"}, content_type="application/json"),
        client.patch(url, {"first_name": "Eve"}, content_type="application/json", HTTP_IF_MATCH="*"),
    ]
    # then
    assert [r.status_code for r in responses] == [428, 428]
    patient.refresh_from_db()
    assert patient.first_name == "Ana"


def test_an_update_cannot_touch_fields_the_form_does_not_offer(staff_user):
    # given
    patient = PatientFactory()
    client = bearer(staff_user)
    url = reverse("api:patient_detail", args=[patient.public_id])
    etag = client.get(url)["ETag"]
    # when
    response = client.patch(url, {"opted_out_at": None, "id": "x"}, content_type="application/json", HTTP_IF_MATCH=etag)
    # then
    assert response.status_code == 400
    assert set(response.json()) == {"opted_out_at", "id"}


def test_a_block_with_its_diary(staff_user):
    # given
    block = BlockFactory(baseline_nrs=8, diary=[(15, 2), (30, 4)])
    client = bearer(staff_user, read_only=True)
    # when
    response = client.get(reverse("api:block_detail", args=[block.public_id]))
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["patient"] == str(block.patient.public_id)
    assert [(d["minutes_after"], d["nrs"]) for d in body["diary"]] == [(15, 2), (30, 4)]
    assert body["result"] == "positive"
    assert body["peak_relief_percent"] == "75.0"


def test_an_ablation_with_its_follow_ups(staff_user):
    # given
    patient = PatientFactory()
    ablation = make_ablation(patient=patient)
    client = bearer(staff_user, read_only=True)
    # when
    response = client.get(reverse("api:ablation_detail", args=[ablation.public_id]))
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["qualifying_block"] is None
    assert [f["time_point"] for f in body["follow_ups"]] == [
        f.time_point for f in ablation.follow_ups.order_by("target_date")
    ]
    assert all(f["response"] is None for f in body["follow_ups"])


def test_each_read_writes_one_access_event_naming_the_token_user(staff_user):
    # given
    block = BlockFactory(diary=[(15, 2)])
    ablation = make_ablation(patient=block.patient)
    client = bearer(staff_user, read_only=True)
    urls = [
        reverse("api:patient_detail", args=[block.patient.public_id]),
        reverse("api:block_detail", args=[block.public_id]),
        reverse("api:ablation_detail", args=[ablation.public_id]),
    ]
    for url in urls:
        last = last_event_id()
        # when
        client.get(url)
        # then
        events = events_after(last)
        assert len(events) == 1, url
        assert (events[0].actor_id, events[0].patient_id, events[0].path) == (staff_user.pk, block.patient.pk, url)


def test_a_search_is_logged_with_its_query_and_the_patients_listed(staff_user):
    # given
    patient = PatientFactory(last_name="Quillfeather")
    client = bearer(staff_user, read_only=True)
    last = last_event_id()
    # when
    client.get(reverse("api:patient_list"), {"q": "quill"})
    # then
    [event] = events_after(last)
    assert event.action == Action.SEARCH
    assert event.detail["query"] == "quill"
    assert event.detail["listed"] == [patient.pk]


def test_refused_and_failed_requests_write_no_access_event(staff_user):
    # given
    patient = PatientFactory()
    last = last_event_id()
    # when
    Client().get(reverse("api:patient_detail", args=[patient.public_id]))
    bearer(staff_user).patch(
        reverse("api:patient_detail", args=[patient.public_id]), {}, content_type="application/json"
    )
    # then
    assert events_after(last) == []


def test_changes_through_a_token_name_its_user_in_the_change_history(staff_user):
    # given
    patient = PatientFactory(first_name="Ana")
    client = bearer(staff_user)
    url = reverse("api:patient_detail", args=[patient.public_id])
    etag = client.get(url)["ETag"]
    # when
    client.patch(url, {"first_name": "Anna"}, content_type="application/json", HTTP_IF_MATCH=etag)
    # then
    event = patient.change_events.order_by("-pgh_id").first()
    assert event.first_name == "Anna"
    assert event.pgh_context["username"] == staff_user.username


def test_requests_are_throttled_per_token(staff_user, settings):
    # given
    settings.API_RATE_LIMIT = "2/min"
    one, other = bearer(staff_user, read_only=True), bearer(staff_user, read_only=True)
    url = reverse("api:patient_list")
    # when
    statuses = [one.get(url).status_code for _ in range(3)]
    # then
    assert statuses == [200, 200, 429]
    assert other.get(url).status_code == 200


def test_the_openapi_schema_describes_the_api(staff_user):
    # when
    response = bearer(staff_user, read_only=True).get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    # then
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/patients/", "/api/v1/patients/{public_id}/", "/api/v1/blocks/{public_id}/"} <= set(schema["paths"])
    assert Client().get(reverse("api:schema")).status_code == 401


def test_the_schema_generates_without_warnings_and_validates():
    # given
    from django.core.management import call_command

    # when / then: --fail-on-warn raises on any operation the generator could not describe
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_an_admin_issues_a_token_in_the_django_admin_and_sees_it_once(client, admin_user, staff_user):
    # given
    client.force_login(admin_user)
    form = {"user": staff_user.pk, "name": "EHR interface", "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"}
    # when
    response = client.post(reverse("admin:api_apitoken_add"), {**form, "read_only": "on"}, follow=True)
    # then
    token = ApiToken.objects.get(user=staff_user)
    [shown] = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    raw = shown.split(" is ")[1].split(" ")[0]
    assert token_hash(raw) == token.key_hash
    assert (token.read_only, token.created_by) == (True, admin_user)
    assert raw not in client.get(reverse("admin:api_apitoken_change", args=[token.pk])).content.decode()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(reverse("api:patient_list")).status_code == 200


def test_an_operation_the_api_does_not_offer_is_405_after_the_role_check(staff_user):
    # given
    patient = PatientFactory()
    url = reverse("api:patient_detail", args=[patient.public_id])
    # when
    by_staff = bearer(staff_user).delete(url)
    by_no_role = bearer(UserFactory()).delete(url)
    # then
    assert (by_staff.status_code, by_no_role.status_code) == (405, 403)
    assert Patient.objects.filter(pk=patient.pk).exists()
