from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.selectors import protocol_get
from apps.patients.selectors import patient_get_or_404

from .forms import CryoablationForm
from .selectors import ablation_get, follow_up_rows, qualifying_block_notes
from .services import ablation_create


@role_required("cryoablations.add_cryoablation")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def ablation_new(request, patient_id):
    patient = patient_get_or_404(public_id=patient_id)
    request.audit.subject(patient)
    form = CryoablationForm(request.POST or None, patient=patient, initial={"physician": request.user.pk})
    if form.is_valid():
        ablation = ablation_create(patient=patient, **form.cleaned_data)
        messages.success(request, f"Cryoablation saved; {ablation.follow_ups.count()} follow-ups scheduled.")
        return redirect("cryoablations:detail", ablation.public_id)
    return render(request, "cryoablations/ablation_form.html", {"form": form, "patient": patient})


@role_required("cryoablations.view_cryoablation")
@audit_access(Action.VIEW, Category.CLINICAL)
def ablation_detail(request, public_id):
    ablation = ablation_get(public_id=public_id)
    request.audit.subject(ablation)
    protocol = protocol_get()
    rows = follow_up_rows(
        follow_ups=list(ablation.follow_ups.select_related("ablation", "counted_response")),
        today=timezone.localdate(),
    )
    context = {
        "ablation": ablation,
        "patient": ablation.patient,
        "protocol": protocol,
        "rows": rows,
        "qualifying_notes": qualifying_block_notes(ablation=ablation, protocol=protocol),
        "unscheduled": ablation.survey_responses.filter(follow_up__isnull=True),
    }
    return render(request, "cryoablations/ablation_detail.html", context)
