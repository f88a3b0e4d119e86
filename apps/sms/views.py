from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from apps.audit.models import Action, Category
from apps.audit.services import access_record

from .services import RateLimited, inbound_receive

logger = logging.getLogger(__name__)

# Twilio reads an empty TwiML response as "no reply now": the answers, when any, are sent after the message is read.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def webhook_url(request) -> str:
    """The address Twilio called, as Twilio saw it: the site's public origin (SITE_URL, so that the signature holds
    behind the clinic's reverse proxy) and the path with its query string."""
    return settings.SITE_URL + request.get_full_path()


@csrf_exempt  # Twilio signs its requests instead (X-Twilio-Signature, checked below)
@require_POST
def twilio_inbound(request):
    """Twilio's "A message comes in" webhook: the message is stored (once per MessageSid) and answered at once; it is
    read by a worker after."""
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    token = settings.TWILIO_AUTH_TOKEN
    if (
        not token
        or not signature
        or not RequestValidator(token).validate(webhook_url(request), request.POST, signature)
    ):
        access_record(
            action=Action.SMS_REFUSED,
            category=Category.AUTHENTICATION,
            request=request,
            actor_label="provider:twilio",
            detail={"reason": "no auth token set" if not token else "bad signature"},
        )
        return HttpResponseForbidden("Signature refused.", content_type="text/plain")
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid", "")
    sender = request.POST.get("From", "")
    if not sid or not sender:
        return HttpResponseBadRequest("MessageSid and From are required.", content_type="text/plain")
    try:
        received = inbound_receive(
            provider="twilio", provider_message_id=sid, from_number=sender, body=request.POST.get("Body", "")
        )
    except RateLimited:
        logger.warning("sms webhook: a number over its rate limit, message not stored")
        response = HttpResponse("Too many messages from this number.", status=429, content_type="text/plain")
        response["Retry-After"] = str(settings.SMS_INBOUND_RATE_WINDOW_SECONDS)
        return response
    if not received.created:
        logger.info("sms webhook: message %s received again, unchanged", received.inbound.pk)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
