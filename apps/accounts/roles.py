"""Which permissions each role holds. Groups are kept in step with this table after every migrate."""

from __future__ import annotations

from .models import Role

CLINICAL_MODELS = [
    "patients.patient",
    "blocks.diagnosticblock",
    "blocks.diaryentry",
    "cryoablations.cryoablation",
    "cryoablations.followup",
    "surveys.surveyresponse",
    "adverse_events.adverseevent",
    "adverse_events.problemreview",
    # Patients' text messages waiting for staff (apps.sms): named, not imported (accounts sits below every app).
    "sms.inboundsms",
    "medications.medicationstatement",
    "medications.medicationreview",
    "instruments.instrumentanswer",
]
CLINICAL_ACTIONS = ["view", "add", "change"]

# Permissions checked by views, named here once so a page and the role table cannot drift apart.
CLINICAL = "patients.view_patient"
CONFIGURE = "clinic.change_protocol"
# The outcome dashboards and report runs: physicians and admins (not front-desk staff).
OUTCOMES = "reports.view_outcomes"
# In a network of sites: the network's pooled figures (no patient of another site is ever listed): admins.
NETWORK_OUTCOMES = "reports.view_network_outcomes"


def permissions_for(role: Role) -> list[str] | None:
    """`app_label.codename` strings for a role; None means every permission of the project."""
    if role == Role.ADMIN:
        return None
    if role == Role.NETWORK:
        return [OUTCOMES, NETWORK_OUTCOMES]
    perms = []
    for model in CLINICAL_MODELS:
        app_label, model_name = model.split(".")
        perms += [f"{app_label}.{action}_{model_name}" for action in CLINICAL_ACTIONS]
    perms += ["clinic.view_nerve", "clinic.view_protocol"]
    if role == Role.PHYSICIAN:
        perms.append(OUTCOMES)
    return perms


def sync_role_groups(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = permissions_for(role)
        if wanted is None:
            group.permissions.set(Permission.objects.all())
            continue
        perms = []
        for dotted in wanted:
            app_label, codename = dotted.split(".")
            perms += list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
