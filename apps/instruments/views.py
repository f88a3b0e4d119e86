"""Staff's "Baseline questionnaires" form, opened from the treatment page: the instruments the schedule asks at
baseline, taken at the treatment visit."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from apps.accounts.decorators import role_required
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.cryoablations.selectors import ablation_get

from .forms import BaselineAnswersForm
from .selectors import treatment_baseline_answers
from .services import InstrumentAnswerError, baseline_answers_record


@role_required("instruments.add_instrumentanswer")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def baseline_answers(request, public_id):
    treatment = ablation_get(public_id=public_id, user=request.user)
    request.audit.subject(treatment)
    form = BaselineAnswersForm(request.POST or None, treatment=treatment)
    if form.is_valid():
        try:
            recorded = baseline_answers_record(
                treatment=treatment,
                instruments=form.answers(),
                completed_at=form.cleaned_data["completed_at"],
                recorded_by=request.user,
            )
        except InstrumentAnswerError as error:
            form.add_service_errors(error.instrument, error.error)
        else:
            names = ", ".join(answer.instrument.name for answer in recorded)
            messages.success(request, f"Baseline {names} recorded.")
            return redirect("cryoablations:detail", treatment.public_id)
    context = {
        "form": form,
        "treatment": treatment,
        "patient": treatment.patient,
        "baseline": treatment_baseline_answers(treatment=treatment),
    }
    return render(request, "instruments/baseline_form.html", context)
