from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.patients.selectors import patient_get_or_404, visible_to

from .forms import MedicationStatementForm, MedicationStopForm
from .models import MedicationStatement
from .selectors import medication_review_get, mme_on
from .services import medication_list_review, medication_statement_create, medication_statement_update


def _patient_url(patient) -> str:
    return reverse("patients:detail", args=[patient.public_id]) + "#opioids"


def _save_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _context(patient, **extra):
    """What every opioid form shows beside itself: today's MME with its factor table, and the last review."""
    return {
        "patient": patient,
        "mme_today": mme_on(patient=patient, day=timezone.localdate()),
        "review": medication_review_get(patient=patient),
        **extra,
    }


@role_required("medications.add_medicationstatement")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def statement_new(request, patient_id):
    patient = patient_get_or_404(public_id=patient_id, user=request.user)
    request.audit.subject(patient)
    form = MedicationStatementForm(request.POST or None)
    if form.is_valid():
        try:
            statement = medication_statement_create(patient=patient, recorded_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, f"Opioid added: {statement}.")
            return redirect(_patient_url(patient))
    return render(request, "medications/statement_form.html", _context(patient, form=form))


def _statement(request, public_id) -> MedicationStatement:
    statements = visible_to(MedicationStatement.objects.select_related("patient"), user=request.user)
    statement = get_object_or_404(statements, public_id=public_id)
    request.audit.subject(statement, patient=statement.patient)
    return statement


@role_required("medications.change_medicationstatement")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def statement_edit(request, public_id):
    statement = _statement(request, public_id)
    form = MedicationStatementForm(request.POST or None, instance=statement)
    if form.is_valid():
        try:
            medication_statement_update(statement=statement, **form.cleaned_data)
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, f"Opioid saved: {statement}.")
            return redirect(_patient_url(statement.patient))
    return render(
        request, "medications/statement_form.html", _context(statement.patient, form=form, statement=statement)
    )


@role_required("medications.change_medicationstatement")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def statement_stop(request, public_id):
    statement = _statement(request, public_id)
    form = MedicationStopForm(request.POST or None, initial={"stopped_on": timezone.localdate()})
    if form.is_valid():
        try:
            medication_statement_update(statement=statement, stopped_on=form.cleaned_data["stopped_on"])
        except ValidationError as error:
            _save_errors(form, error)
        else:
            messages.success(request, f"Opioid stopped: {statement}.")
            return redirect(_patient_url(statement.patient))
    return render(request, "medications/stop_form.html", _context(statement.patient, form=form, statement=statement))


@role_required("medications.change_medicationreview")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
@require_POST
def list_reviewed(request, patient_id):
    patient = patient_get_or_404(public_id=patient_id, user=request.user)
    request.audit.subject(patient)
    medication_list_review(patient=patient, reviewed_by=request.user)
    messages.success(request, "Opioid list marked as reviewed today.")
    return redirect(_patient_url(patient))
