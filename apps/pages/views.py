from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from apps.accounts.decorators import role_required
from apps.accounts.redirects import safe_next
from apps.accounts.selectors import physician_list
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.selectors import protocol_for, protocol_get, site_network
from apps.cryoablations.forms import TreatmentForm, WorklistFilterForm
from apps.cryoablations.models import Status
from apps.cryoablations.selectors import ablation_get, follow_up_get, worklist
from apps.instruments.services import InstrumentAnswerError
from apps.medications.selectors import opioid_list_get
from apps.patients.selectors import patient_get_or_404, visible_to
from apps.reminders.selectors import (
    WORKLIST_SECTION_LIMIT,
    link_refusals,
    messages_for_patient,
    messages_needing_staff,
    unreachable_follow_ups,
)
from apps.surveys.forms import FollowUpAnswersForm, follow_up_instruments_form
from apps.surveys.services import ablation_update, follow_up_answers_record

from .selectors import patient_timeline
from .trend import patient_trend

WORKLIST_PAGE_SIZE = 50


def _patient_record(request, public_id) -> dict:
    """What the patient page and its printout show: the patient (recorded as the access's subject), their timeline,
    opioid list and trend chart."""
    patient = patient_get_or_404(public_id=public_id, user=request.user)
    request.audit.subject(patient)
    today = timezone.localdate()
    timeline = patient_timeline(patient=patient, protocol=protocol_for(patient.site_id), today=today)
    opioids = opioid_list_get(patient=patient, today=today)
    trend = patient_trend(patient=patient, timeline=timeline, opioids=opioids, today=today)
    return {"patient": patient, "timeline": timeline, "opioids": opioids, "trend": trend}


def _link_refusals(patient):
    """ "Send now" and "Copy link" are offered unless the messaging rule refuses them; then the reason shows."""
    refusals = link_refusals(patient=patient)
    return {"send_refusal": refusals.send, "call_refusal": refusals.call}


@role_required("patients.view_patient")
@audit_access(Action.VIEW, Category.CLINICAL)
def patient_detail(request, public_id):
    context = _patient_record(request, public_id)
    patient = context["patient"]
    context |= {
        # Read once, with the timeline's entries.
        "adverse_events": [event.item for event in context["timeline"] if event.kind == "adverse_event"],
        "reminder_messages": messages_for_patient(patient=patient),
        # A single clinic's page names no site: it has one.
        "site_network": site_network(),
        **_link_refusals(patient),
    }
    return render(request, "patients/patient_detail.html", context)


@role_required("patients.view_patient")
@audit_access(Action.PRINT, Category.CLINICAL)
def patient_print(request, public_id):
    """A printable summary of the timeline: printing is a read of PHI of its own, recorded as such."""
    context = _patient_record(request, public_id) | {"printed_at": timezone.localtime()}
    return render(request, "patients/patient_print.html", context)


@role_required("cryoablations.view_followup")
@audit_access(Action.LIST, Category.CLINICAL, object_type="worklist")
def worklist_view(request):
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    time_points = protocol_get().time_points.all()
    filter_form = WorklistFilterForm(request.GET, time_points=time_points)
    time_point = filter_form.cleaned_data["time_point"] if filter_form.is_valid() else ""
    physician_id = request.GET.get("physician", "")
    physician_id = int(physician_id) if physician_id.isdecimal() else None
    follow_ups = worklist(today=timezone.localdate(), status=status, physician_id=physician_id, time_point=time_point)
    follow_ups = visible_to(follow_ups, user=request.user)
    if not filter_form.is_valid():
        # The whole worklist under a filter naming a time point would be read as that time point's follow-ups.
        follow_ups = follow_ups.none()
    page = Paginator(follow_ups, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    request.audit.subject(None, listed=[f.ablation.patient_id for f in page])
    context = {
        "page": page,
        "today": timezone.localdate(),
        "status": status,
        "time_point": time_point,
        "physician_id": physician_id,
        "physicians": physician_list(),
        "time_points": time_points,
        "time_point_errors": filter_form.errors.get("time_point", []),
        "statuses": [
            ("", "Due and overdue"),
            (Status.DUE, "Due"),
            (Status.OVERDUE, "Overdue"),
            (Status.MISSED, "Missed"),
        ],
    }
    # The "To call" tab: patients no message reaches, and messages staff must check (apps.reminders).
    context["reach_tab"] = request.GET.get("view") == "reach"
    if context["reach_tab"]:
        unreachable = visible_to(unreachable_follow_ups(today=timezone.localdate()), user=request.user)
        context["unreachable_count"] = unreachable.count()
        context["unreachable"] = unreachable[:WORKLIST_SECTION_LIMIT]
        needing_staff = visible_to(messages_needing_staff(), user=request.user)
        context["needing_staff_count"] = needing_staff.count()
        context["needing_staff"] = needing_staff[:WORKLIST_SECTION_LIMIT]
    return render(request, "cryoablations/worklist.html", context)


@role_required("surveys.add_surveyresponse")
@audit_access(Action.EDIT_FORM, Category.SURVEY)
def follow_up_answers(request, public_id):
    follow_up = follow_up_get(public_id=public_id, user=request.user)
    request.audit.subject(follow_up, patient=follow_up.ablation.patient)
    form = FollowUpAnswersForm(request.POST or None, follow_up=follow_up)
    # The instruments due at this time point, beside the pain questions; written with them or not at all.
    instruments = follow_up_instruments_form(follow_up=follow_up, data=request.POST or None)
    # Where staff came from (the worklist with its tab, filters and page), if it is a page of this site.
    back = safe_next(request)
    if form.is_valid() & (instruments is None or instruments.is_valid()):
        try:
            follow_up_answers_record(
                follow_up=follow_up,
                answers=form.cleaned_data,
                instruments=instruments.answers() if instruments else (),
                recorded_by=request.user,
            )
        except InstrumentAnswerError as error:
            assert instruments is not None
            instruments.add_service_errors(error.instrument, error.error)
        else:
            messages.success(request, f"{follow_up.label} answers recorded.")
            return redirect(back or reverse("cryoablations:detail", args=[follow_up.ablation.public_id]))
    patient = follow_up.ablation.patient
    status = follow_up.status(timezone.localdate(), completed=follow_up.counted_response_id is not None)
    context = {
        "form": form,
        "instruments": instruments,
        "follow_up": follow_up,
        "patient": patient,
        "back": back,
        # "Send now" / "Copy link" (apps.reminders) while the window is open and nothing is counted yet.
        "link_actions": status in (Status.DUE, Status.OVERDUE),
        **_link_refusals(patient),
    }
    return render(request, "cryoablations/follow_up_answers.html", context)


@role_required("cryoablations.change_cryoablation")
@audit_access(Action.EDIT_FORM, Category.CLINICAL)
def ablation_edit(request, public_id):
    ablation = ablation_get(public_id=public_id, user=request.user)
    request.audit.subject(ablation)
    form = TreatmentForm(request.POST or None, instance=ablation, patient=ablation.patient)
    if form.is_valid():
        ablation_update(ablation=ablation, **form.cleaned_data)
        messages.success(request, f"{ablation.get_kind_display()} saved.")
        return redirect("cryoablations:detail", ablation.public_id)
    context = {"form": form, "patient": ablation.patient, "ablation": ablation}
    return render(request, "cryoablations/ablation_form.html", context)
