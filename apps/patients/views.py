from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category

from .forms import PatientForm, PatientSearchForm
from .models import Patient
from .selectors import patient_get_or_404, patient_search
from .services import patient_create, patient_update

PAGE_SIZE = 25


@role_required("patients.view_patient")
@audit_access(Action.LIST, Category.DEMOGRAPHICS, object_type="patient_list")
def patient_list(request):
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    # A search that cannot be run lists nobody: every patient under a search box showing a term would read as its
    # matches.
    patients = patient_search(query=query, user=request.user) if form.is_valid() else Patient.objects.none()
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    action = Action.SEARCH if query else Action.LIST
    request.audit.subject(None, action=action, query=query, listed=[p.pk for p in page])
    context = {"page": page, "query": query, "search_errors": form.errors.get("q", [])}
    return render(request, "patients/patient_list.html", context)


@role_required("patients.add_patient")
def patient_new(request):
    form = PatientForm(request.POST or None, user=request.user)
    if form.is_valid():
        patient = patient_create(consent_taken_by=request.user, **form.cleaned_data)
        messages.success(request, f"Patient {patient.mrn} registered.")
        return redirect("patients:detail", patient.public_id)
    return render(request, "patients/patient_form.html", {"form": form})


@role_required("patients.change_patient")
@audit_access(Action.EDIT_FORM, Category.DEMOGRAPHICS)
def patient_edit(request, public_id):
    patient = patient_get_or_404(public_id=public_id, user=request.user)
    request.audit.subject(patient)
    form = PatientForm(request.POST or None, instance=patient, user=request.user)
    if form.is_valid():
        patient_update(patient=patient, consent_taken_by=request.user, **form.cleaned_data)
        messages.success(request, "Patient details saved.")
        return redirect("patients:detail", patient.public_id)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})
