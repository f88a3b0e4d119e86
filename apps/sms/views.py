from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.audit.services import access_record

from .forms import AttachForm, DismissForm
from .models import State
from .selectors import inbound_get, inbox_waiting, prompt_candidates
from .services import RateLimited, inbound_receive, inbox_attach, inbox_dismiss

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


# ---------------------------------------------------------------------------------------------------------------
# The staff inbox (the worklist's "Text replies" tab)

INBOX_PAGE_SIZE = 50


@role_required("sms.view_inboundsms")
@audit_access(Action.LIST, Category.SURVEY, object_type="sms_inbox")
def inbox(request):
    page = Paginator(inbox_waiting(user=request.user), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    request.audit.subject(None, listed=[m.patient_id for m in page if m.patient_id])
    return render(request, "sms/inbox.html", {"page": page, "sms_inbox_tab": True})


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@role_required("sms.change_inboundsms")
@audit_access(Action.EDIT_FORM, Category.SURVEY)
def inbox_item(request, public_id):
    """One message: attach it to the question it answers (one step: the question and the score), or dismiss it."""
    inbound = inbound_get(public_id=public_id, user=request.user)
    request.audit.subject(inbound, patient=inbound.patient)
    candidates = list(prompt_candidates(inbound=inbound, user=request.user))
    action = request.POST.get("action")
    attach_form = AttachForm(
        request.POST if action == "attach" else None,
        candidates=candidates,
        initial={"value": inbound.value, "prompt": str(inbound.prompt.public_id) if inbound.prompt else ""},
    )
    dismiss_form = DismissForm(request.POST if action == "dismiss" else None)
    if action == "attach" and attach_form.is_valid():
        try:
            inbox_attach(
                inbound=inbound,
                prompt=attach_form.cleaned_data["prompt"],
                value=attach_form.cleaned_data["value"],
                user=request.user,
            )
        except ValidationError as error:
            _form_errors(attach_form, error)
        else:
            messages.success(request, "The text message is recorded as the patient's answer.")
            return redirect("sms:inbox")
    if action == "dismiss" and dismiss_form.is_valid():
        try:
            inbox_dismiss(inbound=inbound, reason=dismiss_form.cleaned_data["reason"], user=request.user)
        except ValidationError as error:
            _form_errors(dismiss_form, error)
        else:
            messages.success(request, "Text message dismissed; it stays in the history with your reason.")
            return redirect("sms:inbox")
    context = {
        "inbound": inbound,
        "attach_form": attach_form,
        "dismiss_form": dismiss_form,
        "waiting": inbound.state == State.INBOX,
    }
    return render(request, "sms/inbox_item.html", context)
