from __future__ import annotations

from django import forms

from apps.accounts.models import User
from apps.audit.models import Action
from apps.patients.models import Patient
from apps.patients.selectors import patient_ids_visible_to, patients_visible_to

from .presentation import object_type_choices
from .selectors import CHANGE_ACTIONS, SORTS, AuditFilter, change_object_types


class _TrailFilterForm(forms.Form):
    """The filters both audit pages share. An invalid filter is an error at its field and the page lists nothing
    (views.py): never everything, and never a guess. `user` is the reader: in a network, the patient filter knows
    only their sites' patients (another site's MRN is refused as an unknown one), and the filters carry the
    patients whose events they may read (AuditFilter.visible_patients)."""

    user = forms.CharField(required=False, max_length=150, label="User (username)")
    patient = forms.CharField(required=False, max_length=64, label="Patient MRN")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.reader = user

    def clean_patient(self) -> Patient | None:
        mrn = self.cleaned_data["patient"].strip()
        if not mrn:
            return None
        patient = patients_visible_to(self.reader).filter(mrn=mrn).first()
        if patient is None:
            raise forms.ValidationError("No patient has this MRN.")
        return patient

    def filters(self) -> AuditFilter:
        """The filters of a valid form (the views answer 400 for an invalid one before reading anything)."""
        if not self.is_valid():
            raise ValueError(f"invalid audit filters: {sorted(self.errors)}")
        data = {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}
        return AuditFilter(**data, visible_patients=patient_ids_visible_to(self.reader))


class AuditFilterForm(_TrailFilterForm):
    """The access log's filters."""

    action = forms.ChoiceField(required=False, choices=[("", "Any"), *Action.choices])
    object_type = forms.ChoiceField(required=False, label="Object")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    sort = forms.ChoiceField(required=False, choices=[(k, k.title()) for k in SORTS])

    field_order = ["user", "patient", "action", "object_type", "object_id", "date_from", "date_to", "sort"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "Any"), *object_type_choices()]


class ChangeHistoryFilterForm(_TrailFilterForm):
    """The change history's filters: its actions are the changes (added, changed, deleted), not reads."""

    action = forms.ChoiceField(required=False, choices=[("", "Any"), *CHANGE_ACTIONS.items()])
    object_type = forms.ChoiceField(required=False, label="Record")

    field_order = ["user", "patient", "action", "object_type", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "Any"), *change_object_types()]
