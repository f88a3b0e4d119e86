from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.redirects import safe_next
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.cryoablations.selectors import ablation_get, follow_up_get
from apps.patients.models import Channel
from apps.patients.selectors import visible_to
from apps.surveys.models import SurveyLink
from apps.surveys.services import link_revoke

from .selectors import message_get
from .services import (
    CannotSend,
    follow_up_link_for_call,
    follow_up_send_now,
    message_resend,
    message_resolve_delivered,
    treatment_baseline_send_now,
)

PERMISSION = "patients.change_patient"


def _back(request, patient):
    target = request.POST.get("next", "")
    if target == "worklist":
        return redirect("cryoablations:worklist")
    return redirect(safe_next(request) or reverse("patients:detail", args=[patient.public_id]))


@role_required(PERMISSION)
@require_POST
def resend(request, public_id):
    message = message_get(public_id=public_id, user=request.user)
    try:
        message_resend(message=message, user=request.user)
    except CannotSend as error:
        messages.error(request, f"Not sent again: {error}.")
    else:
        messages.success(request, "The message will be sent again within a minute.")
    return _back(request, message.patient)


@role_required(PERMISSION)
@require_POST
def send_now(request, public_id):
    follow_up = follow_up_get(public_id=public_id, user=request.user)
    patient = follow_up.ablation.patient
    try:
        follow_up_send_now(follow_up=follow_up, user=request.user)
    except CannotSend as error:
        messages.error(request, f"Survey link not sent: {error}.")
    else:
        how = "by email" if patient.preferred_channel == Channel.EMAIL else "by text message"
        messages.success(request, f"The {follow_up.label} survey link will go to the patient {how} within a minute.")
    return _back(request, patient)


@role_required(PERMISSION)
@require_POST
def baseline_send_now(request, public_id):
    """The treatment page's "Send baseline link": the baseline questionnaires, to answer by the end of its day."""
    treatment = ablation_get(public_id=public_id, user=request.user)
    patient = treatment.patient
    try:
        treatment_baseline_send_now(treatment=treatment, user=request.user)
    except CannotSend as error:
        messages.error(request, f"Baseline link not sent: {error}.")
    else:
        how = "by email" if patient.preferred_channel == Channel.EMAIL else "by text message"
        messages.success(request, f"The baseline questionnaires link will go to the patient {how} within a minute.")
    return redirect(safe_next(request) or reverse("cryoablations:detail", args=[treatment.public_id]))


@role_required(PERMISSION)
@require_POST
@never_cache
@audit_access(Action.VIEW, Category.SURVEY)
def link_for_call(request, public_id):
    """POST only: each request makes a new link (only its hash is kept), shown on this page once."""
    follow_up = follow_up_get(public_id=public_id, user=request.user)
    patient = follow_up.ablation.patient
    request.audit.subject(follow_up, patient=patient)
    try:
        given = follow_up_link_for_call(follow_up=follow_up, user=request.user)
    except CannotSend as error:
        messages.error(request, f"No link made: {error}.")
        return _back(request, patient)
    context = {"follow_up": follow_up, "patient": patient, "url": given.url, "back": safe_next(request)}
    return render(request, "reminders/link_for_call.html", context)


@role_required(PERMISSION)
@require_POST
def delivered(request, public_id):
    message = message_get(public_id=public_id, user=request.user)
    if message_resolve_delivered(message=message):
        messages.success(request, "Marked as delivered.")
    return _back(request, message.patient)


@role_required(PERMISSION)
@require_POST
def revoke_link(request, public_id):
    link = get_object_or_404(
        visible_to(SurveyLink.objects.select_related("patient"), user=request.user), public_id=public_id
    )
    if link_revoke(link=link):
        messages.success(request, "The link no longer opens.")
    return _back(request, link.patient)
