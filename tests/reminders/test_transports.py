"""The Twilio transport against a local stand-in for Twilio's API: success, permanent and transient errors."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.reminders.transports import Outgoing, PermanentError, TransientError, TwilioSmsTransport


class FakeTwilio(BaseHTTPRequestHandler):
    answer: tuple[int, dict] = (201, {"sid": "SM123"})
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        FakeTwilio.received.append((self.path, self.headers["Authorization"], body))
        status, payload = FakeTwilio.answer
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TWILIO_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC1", "secret"
    settings.TWILIO_FROM_NUMBER = "+12125550100"
    FakeTwilio.received.clear()
    yield FakeTwilio
    server.shutdown()
    server.server_close()


MESSAGE = Outgoing(to="+12125550123", subject="", body="Clinic: https://example.org/s/abc/", sender="+12125550100")


def test_a_message_goes_to_twilios_messages_api_with_basic_auth(twilio):
    # given
    twilio.answer = (201, {"sid": "SM42"})

    # when
    provider_id = TwilioSmsTransport().send(MESSAGE)

    # then
    path, authorization, body = twilio.received[0]
    assert provider_id == "SM42"
    assert path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert authorization.startswith("Basic ")
    assert body == {"To": ["+12125550123"], "From": ["+12125550100"], "Body": [MESSAGE.body]}


def test_an_invalid_number_is_a_permanent_error(twilio):
    twilio.answer = (400, {"code": 21211, "message": "Invalid 'To' Phone Number"})
    with pytest.raises(PermanentError):
        TwilioSmsTransport().send(MESSAGE)


@pytest.mark.parametrize("answer", [(503, {}), (429, {"code": 20429}), (401, {"code": 20003})])
def test_outages_rate_limits_and_our_own_configuration_are_retried(twilio, answer):
    twilio.answer = answer
    with pytest.raises(TransientError):
        TwilioSmsTransport().send(MESSAGE)
