from __future__ import annotations

from django import forms

from apps.patients.models import Patient

from .models import Action
from .selectors import SORTS, AuditFilter


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User (username)")
    patient = forms.CharField(required=False, label="Patient MRN")
    action = forms.ChoiceField(required=False, choices=[("", "Any")] + list(Action.choices))
    object_type = forms.CharField(required=False, label="Object type")
    object_id = forms.CharField(required=False, label="Object id")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(required=False, choices=[(k, k.title()) for k in SORTS])

    def clean_patient(self) -> Patient | None:
        mrn = self.cleaned_data["patient"].strip()
        if not mrn:
            return None
        patient = Patient.objects.filter(mrn=mrn).first()
        if patient is None:
            raise forms.ValidationError("No patient has this MRN.")
        return patient

    def filters(self) -> AuditFilter:
        if not self.is_valid():
            return AuditFilter(object_id="\0none")  # an invalid filter shows nothing rather than everything
        data = {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}
        return AuditFilter(**data)
