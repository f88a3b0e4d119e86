"""How a message leaves the registry: email through Django's mailers, SMS through a small transport interface.

A transport either returns the provider's message id or raises: TransientError (try again later: a timeout,
a 5xx, a rate limit) or PermanentError (the address or number will never work: a bounce, an invalid number).
"""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 15  # well below the task's soft time limit
# Twilio error codes that mean the number will never receive our SMS (invalid, not mobile, unsubscribed...).
TWILIO_PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614, 21617, 21635}


class TransientError(Exception):
    """Worth trying again later."""


class PermanentError(Exception):
    """The contact will not work: mark it and ask staff to call."""


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    body: str
    sender: str  # the address (email) or number (SMS) it leaves from: its site's, apps.clinic.models.Site.sender


class SmsTransport:
    def send(self, message: Outgoing) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsTransport(SmsTransport):
    """For `make run`: the SMS goes to the worker's log."""

    def send(self, message: Outgoing) -> str:
        print(f"SMS to {message.to}:\n{message.body}\n", flush=True)  # noqa: T201 - that is its purpose
        return "console"


@dataclass
class FakeSmsTransport(SmsTransport):
    """For tests: records what would have been sent; `fail_with` makes the next sends raise."""

    sent: list[Outgoing] = field(default_factory=list)
    fail_with: Exception | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Outgoing) -> str:
        with self.lock:
            if self.fail_with is not None:
                raise self.fail_with
            self.sent.append(message)
            return f"fake-{len(self.sent)}"


FAKE_SMS = FakeSmsTransport()


class TwilioSmsTransport(SmsTransport):
    """Twilio's Messages API over HTTPS with the standard library: no SDK to keep up to date."""

    def send(self, message: Outgoing) -> str:
        sid = settings.TWILIO_ACCOUNT_SID
        url = f"{settings.TWILIO_API_URL}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
        data = urllib.parse.urlencode({"To": message.to, "From": message.sender, "Body": message.body})
        credentials = base64.b64encode(f"{sid}:{settings.TWILIO_AUTH_TOKEN}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured https:// API
            url, data=data.encode(), headers={"Authorization": f"Basic {credentials}"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
                return json.load(response).get("sid", "")
        except urllib.error.HTTPError as error:
            try:
                code = json.load(error).get("code")
            except ValueError:
                code = None
            if error.code == 400 and code in TWILIO_PERMANENT_CODES:
                raise PermanentError(f"twilio {code}") from error
            # Anything else (our credentials, a rate limit, an outage) is not the number's fault: retried, and
            # after the last attempt left "failed" for staff without marking the contact.
            raise TransientError(f"twilio http {error.code} {code or ''}".strip()) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise TransientError(type(error).__name__) from error


SMS_TRANSPORTS = {
    "console": ConsoleSmsTransport,
    "fake": lambda: FAKE_SMS,
    "twilio": TwilioSmsTransport,
}


def sms_transport() -> SmsTransport:
    name = settings.SMS_TRANSPORT
    factory = SMS_TRANSPORTS.get(name) or import_string(name)
    return factory()


def email_send(message: Outgoing) -> str:
    """Through Django's default mailer (console, SMTP or an anymail provider, by settings)."""
    email = EmailMessage(message.subject, message.body, message.sender, [message.to])
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentError("smtp recipient refused") from error
    except (smtplib.SMTPException, OSError, TimeoutError) as error:
        raise TransientError(type(error).__name__) from error
    except Exception as error:
        # anymail reports a provider's refusal of the recipient as AnymailRecipientsRefused.
        if type(error).__name__ == "AnymailRecipientsRefused":
            raise PermanentError("recipient refused") from error
        if type(error).__name__.startswith("Anymail"):
            raise TransientError(type(error).__name__) from error
        raise
    status = getattr(email, "anymail_status", None)
    return str(status.message_id) if status is not None and status.message_id else "email"
