from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.surveys.models import SurveyLink
from apps.surveys.services import link_revoke

from .selectors import message_get
from .services import CannotResend, message_resend, message_resolve_delivered

PERMISSION = "patients.change_patient"


def _back(request, patient):
    target = request.POST.get("next", "")
    if target == "worklist":
        return redirect("cryoablations:worklist")
    return redirect("patients:detail", patient.public_id)


@role_required(PERMISSION)
@require_POST
def resend(request, public_id):
    message = message_get(public_id=public_id)
    try:
        message_resend(message=message, user=request.user)
    except CannotResend as error:
        messages.error(request, f"Not sent again: {error}.")
    else:
        messages.success(request, "The message will be sent again within a minute (outside quiet hours).")
    return _back(request, message.patient)


@role_required(PERMISSION)
@require_POST
def delivered(request, public_id):
    message = message_get(public_id=public_id)
    if message_resolve_delivered(message=message):
        messages.success(request, "Marked as delivered.")
    return _back(request, message.patient)


@role_required(PERMISSION)
@require_POST
def revoke_link(request, public_id):
    link = get_object_or_404(SurveyLink.objects.select_related("patient"), public_id=public_id)
    if link_revoke(link=link):
        messages.success(request, "The link no longer opens.")
    return _back(request, link.patient)
