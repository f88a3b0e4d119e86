"""The Twilio webhook: signed requests only, each message stored once, answered fast."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from apps.audit.models import AccessEvent, Action
from apps.sms.models import InboundSms, State

pytestmark = pytest.mark.django_db

TOKEN = "test-twilio-auth-token"
PATH = "/sms/inbound/twilio/"


@pytest.fixture(autouse=True)
def _twilio(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SITE_URL = "https://registry.clinic.example"


def post(client, params, *, token=TOKEN, url="https://registry.clinic.example" + PATH, **headers):
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(PATH, params, HTTP_X_TWILIO_SIGNATURE=signature, **headers)


def message(sid="SM0001", body="3", sender="+12125550101"):
    return {"MessageSid": sid, "From": sender, "To": "+12125550000", "Body": body, "AccountSid": "AC1"}


def test_a_signed_message_is_stored_and_answered_with_empty_twiml(client):
    response = post(client, message())
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    stored = InboundSms.objects.get()
    assert (stored.provider_message_id, stored.from_number, stored.body, stored.state) == (
        "SM0001",
        "+12125550101",
        "3",
        State.RECEIVED,
    )


def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(client):
    # Signed for the public https address, received by the app on plain http behind the proxy: accepted.
    assert post(client, message(), HTTP_X_FORWARDED_PROTO="http").status_code == 200
    # Signed for another address: refused.
    response = post(client, message("SM0002"), url="http://testserver" + PATH)
    assert response.status_code == 403


@pytest.mark.parametrize("case", ["bad token", "no signature", "tampered"])
def test_a_bad_signature_gets_403_and_an_access_event(client, case):
    params = message()
    if case == "bad token":
        response = post(client, params, token="someone-elses")
    elif case == "no signature":
        response = client.post(PATH, params)
    else:
        signature = RequestValidator(TOKEN).compute_signature("https://registry.clinic.example" + PATH, params)
        response = client.post(PATH, {**params, "Body": "10"}, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert not InboundSms.objects.exists()
    event = AccessEvent.objects.get(action=Action.SMS_REFUSED)
    assert event.actor_label == "provider:twilio" and event.path == PATH


def test_without_an_auth_token_the_webhook_is_closed(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert post(client, message(), token="anything").status_code == 403


def test_a_replayed_message_id_changes_nothing(client):
    assert post(client, message(body="3")).status_code == 200
    assert post(client, message(body="9")).status_code == 200
    assert list(InboundSms.objects.values_list("body", flat=True)) == ["3"]


def test_a_flood_from_one_number_gets_429_and_is_not_stored(client, settings):
    settings.SMS_INBOUND_RATE_LIMIT = 3
    codes = [post(client, message(f"SMf{n}")).status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert InboundSms.objects.count() == 3


def test_a_10000_character_body_or_binary_junk_is_stored_safely(client):
    assert post(client, message("SMlong", body="x" * 10_000)).status_code == 200
    assert post(client, message("SMjunk", body="\x00\x01\x02ÿ\ufffe")).status_code == 200
    long, junk = (
        InboundSms.objects.get(provider_message_id="SMlong"),
        InboundSms.objects.get(provider_message_id="SMjunk"),
    )
    assert len(long.body) == 1600 and long.body_truncated
    assert junk.body == "ÿ"


def test_get_is_not_allowed(client):
    assert client.get(PATH).status_code == 405
