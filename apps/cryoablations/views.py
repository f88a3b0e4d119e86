from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.selectors import protocol_for
from apps.patients.selectors import patient_get_or_404

from .forms import TreatmentForm
from .selectors import (
    ablation_get,
    follow_up_rows,
    patient_block_find,
    qualifying_block_notes,
    treatment_chain,
    treatment_details,
)
from .services import ablation_create


@role_required("cryoablations.add_cryoablation")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def ablation_new(request, patient_id):
    patient = patient_get_or_404(public_id=patient_id, user=request.user)
    request.audit.subject(patient)
    initial = {"physician": request.user.pk}
    # Opened from a block's page ("Record a treatment"): its nerve, side and the block itself, prefilled.
    block = patient_block_find(patient=patient, public_id=request.GET.get("block", ""))
    if block is not None:
        initial |= {"nerve": block.nerve_id, "side": block.side, "qualifying_block": block.pk}
    form = TreatmentForm(request.POST or None, patient=patient, initial=initial)
    if form.is_valid():
        treatment = ablation_create(patient=patient, **form.cleaned_data)
        messages.success(
            request, f"{treatment.get_kind_display()} saved; {treatment.follow_ups.count()} follow-ups scheduled."
        )
        return redirect("cryoablations:detail", treatment.public_id)
    return render(request, "cryoablations/ablation_form.html", {"form": form, "patient": patient, "from_block": block})


@role_required("cryoablations.view_cryoablation")
@audit_access(Action.VIEW, Category.CLINICAL)
def ablation_detail(request, public_id):
    ablation = ablation_get(public_id=public_id, user=request.user)
    request.audit.subject(ablation)
    protocol = protocol_for(ablation.patient.site_id)
    rows = follow_up_rows(
        follow_ups=list(ablation.follow_ups.select_related("ablation", "counted_response", "superseded_by")),
        today=timezone.localdate(),
    )
    context = {
        "ablation": ablation,
        "patient": ablation.patient,
        "protocol": protocol,
        "rows": rows,
        "details": treatment_details(treatment=ablation),
        "chain": treatment_chain(treatment=ablation),
        "qualifying_notes": qualifying_block_notes(ablation=ablation, protocol=protocol),
        "unscheduled": ablation.survey_responses.filter(follow_up__isnull=True),
    }
    return render(request, "cryoablations/ablation_detail.html", context)
