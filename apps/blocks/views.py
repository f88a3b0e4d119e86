from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.selectors import protocol_for
from apps.patients.selectors import patient_get_or_404

from .forms import DiagnosticBlockForm, diary_formset
from .selectors import block_get, dual_block_status
from .services import block_create, block_update


def _form_page(request, *, form, diary, patient, block=None):
    context = {"form": form, "diary": diary, "patient": patient, "nerve_block": block}
    return render(request, "blocks/block_form.html", context)


@role_required("blocks.add_diagnosticblock")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def block_new(request, patient_id):
    patient = patient_get_or_404(public_id=patient_id, user=request.user)
    request.audit.subject(patient)
    initial = {"physician": request.user.pk, "drug": "lidocaine", "concentration_percent": 2, "volume_ml": 1}
    form = DiagnosticBlockForm(request.POST or None, initial=initial)
    diary = diary_formset(data=request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid() and diary.is_valid():
        block = block_create(patient=patient, diary=diary.diary, **form.cleaned_data)
        messages.success(request, "Diagnostic block saved.")
        return redirect("blocks:detail", block.public_id)
    return _form_page(request, form=form, diary=diary, patient=patient)


@role_required("blocks.change_diagnosticblock")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def block_edit(request, public_id):
    block = block_get(public_id=public_id, user=request.user)
    request.audit.subject(block)
    form = DiagnosticBlockForm(request.POST or None, instance=block)
    diary = diary_formset(block, data=request.POST or None)
    if request.method == "POST" and form.is_valid() and diary.is_valid():
        block_update(block=block, diary=diary.diary, **form.cleaned_data)
        messages.success(request, "Diagnostic block saved.")
        return redirect("blocks:detail", block.public_id)
    return _form_page(request, form=form, diary=diary, patient=block.patient, block=block)


@role_required("blocks.view_diagnosticblock")
@audit_access(Action.VIEW, Category.CLINICAL)
def block_detail(request, public_id):
    block = block_get(public_id=public_id, user=request.user)
    request.audit.subject(block)
    protocol = protocol_for(block.patient.site_id)
    context = {
        "nerve_block": block,
        "patient": block.patient,
        "protocol": protocol,
        "assessment": block.assess(protocol),
        "diary_rows": block.diary_rows(protocol),
        "dual": dual_block_status(block=block, protocol=protocol),
        "ablations": block.ablations.select_related("nerve"),
    }
    return render(request, "blocks/block_detail.html", context)
