from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from apps.accounts.decorators import role_required
from apps.accounts.redirects import safe_next
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.blocks.models import DiagnosticBlock
from apps.blocks.selectors import block_get
from apps.cryoablations.selectors import ablation_get

from .forms import AdverseEventForm, ProblemDismissForm
from .models import AdverseEvent
from .selectors import (
    adverse_event_get,
    new_problem_get,
    new_problem_rows,
    new_problems_waiting,
)
from .services import adverse_event_create, adverse_event_update, problem_dismiss

QUEUE_PAGE_SIZE = 50


def _procedure_url(event: AdverseEvent) -> str:
    """The page of the treatment or block an event is recorded on (the table's check: one of the two)."""
    if event.treatment is not None:
        return reverse("cryoablations:detail", args=[event.treatment.public_id])
    return reverse("blocks:detail", args=[cast(DiagnosticBlock, event.block).public_id])


def _save_errors(form: AdverseEventForm, error: ValidationError) -> None:
    """A refusal of the service (e.g. the answer was reviewed by someone else meanwhile) shown on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@role_required("adverse_events.add_adverseevent")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def event_new_for_treatment(request, treatment_id):
    treatment = ablation_get(public_id=treatment_id, user=request.user)
    request.audit.subject(treatment)
    # Made from a patient's "new problem" answer on the staff queue: prefilled with its date and words.
    source = None
    source_id = request.POST.get("source_response") or request.GET.get("response")
    if source_id:
        source = new_problem_get(public_id=source_id, user=request.user)
        if source.ablation_id != treatment.pk:
            source = None
    initial = {}
    if source is not None:
        initial = {
            "occurred_on": timezone.localdate(source.completed_at),
            "notes": source.new_problem_text,
        }
    form = AdverseEventForm(request.POST or None, treatment=treatment, initial=initial)
    back = safe_next(request)
    if form.is_valid():
        try:
            event = adverse_event_create(
                treatment=treatment, recorded_by=request.user, source_response=source, **form.cleaned_data
            )
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, f"Adverse event recorded: {event.get_category_display()}.")
            return redirect(back or _procedure_url(event))
    context = {
        "form": form,
        "patient": treatment.patient,
        "treatment": treatment,
        "procedure_url": _procedure_url(form.instance),
        "source": source,
        "back": back,
    }
    return render(request, "adverse_events/event_form.html", context)


@role_required("adverse_events.add_adverseevent")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def event_new_for_block(request, block_id):
    block = block_get(public_id=block_id, user=request.user)
    request.audit.subject(block)
    form = AdverseEventForm(request.POST or None, block=block)
    if form.is_valid():
        try:
            event = adverse_event_create(block=block, recorded_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, f"Adverse event recorded: {event.get_category_display()}.")
            return redirect(_procedure_url(event))
    context = {"form": form, "patient": block.patient, "block": block, "procedure_url": _procedure_url(form.instance)}
    return render(request, "adverse_events/event_form.html", context)


@role_required("adverse_events.change_adverseevent")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def event_edit(request, public_id):
    event = adverse_event_get(public_id=public_id, user=request.user)
    patient = event.patient
    request.audit.subject(event, patient=patient)
    form = AdverseEventForm(request.POST or None, instance=event)
    if form.is_valid():
        try:
            adverse_event_update(event=event, **form.cleaned_data)
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, "Adverse event saved.")
            return redirect(_procedure_url(event))
    context = {
        "form": form,
        "event": event,
        "patient": patient,
        "treatment": event.treatment,
        "block": event.block,
        "procedure_url": _procedure_url(event),
    }
    return render(request, "adverse_events/event_form.html", context)


@role_required("adverse_events.view_problemreview")
@audit_access(Action.LIST, Category.SURVEY, object_type="new_problems")
def new_problems(request):
    """The worklist's "New problems" tab: patients' answers reporting a new problem, waiting for staff."""
    waiting = new_problems_waiting(user=request.user)
    page = Paginator(waiting, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    request.audit.subject(None, listed=[r.ablation.patient_id for r in page])
    context = {
        "page": page,
        "rows": new_problem_rows(responses=list(page), today=timezone.localdate()),
        "new_problems_tab": True,
    }
    return render(request, "adverse_events/new_problems.html", context)


@role_required("adverse_events.add_problemreview")
@audit_access(Action.EDIT_FORM, Category.SURVEY)
def problem_dismiss_view(request, response_id):
    response = new_problem_get(public_id=response_id, user=request.user)
    request.audit.subject(response, patient=response.ablation.patient)
    form = ProblemDismissForm(request.POST or None)
    if form.is_valid():
        try:
            problem_dismiss(response=response, reason=form.cleaned_data["reason"], reviewed_by=request.user)
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, "New problem dismissed; the patient's answer keeps their words.")
            return redirect("adverse_events:new_problems")
    context = {"form": form, "response": response, "patient": response.ablation.patient}
    return render(request, "adverse_events/dismiss.html", context)
