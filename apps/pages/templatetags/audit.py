from __future__ import annotations

from django import template

from apps.accounts.roles import CONFIGURE
from apps.pages.audit.presentation import actor_name
from apps.pages.audit.selectors import patient_viewers

register = template.Library()


@register.inclusion_tag("audit/patient_viewers.html", takes_context=True)
def patient_viewers_panel(context, patient):
    """For admins on the patient page: who looked at this patient (the latest accesses)."""
    user = context["request"].user
    if not user.has_perm(CONFIGURE):
        return {"show": False}
    events = patient_viewers(patient=patient)
    for event in events:
        event.actor_name = actor_name(event.actor_label)
    return {"show": True, "events": events, "patient": patient}
