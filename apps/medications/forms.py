from __future__ import annotations

from typing import cast

from django import forms

from .models import MedicationStatement, Opioid

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MedicationStatementForm(forms.ModelForm):
    """An opioid on the patient's list. The model's checks run on the form (ModelForm calls the model's clean and
    the field validators), so a dose of 0 or less, a stop before the start or an unknown opioid is refused, naming
    the field."""

    class Meta:
        model = MedicationStatement
        fields = ["opioid", "daily_dose", "started_on", "stopped_on"]
        labels = {"daily_dose": "Daily dose (mg a day; fentanyl patch: mcg an hour)"}
        widgets = {
            "started_on": DATE_WIDGET,
            "stopped_on": DATE_WIDGET,
            "daily_dose": forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
        }
        help_texts = {"daily_dose": "", "stopped_on": "Leave empty while the patient still takes it."}
        error_messages = {
            "opioid": {"required": "Choose the opioid.", "invalid_choice": "Choose an opioid from the list."},
            "daily_dose": {"required": "Enter the daily dose.", "invalid": "Enter the daily dose as a number."},
            "started_on": {"required": "Enter the date it was started."},
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["opioid"]).choices = [("", "Choose…"), *Opioid.choices]


class MedicationStopForm(forms.Form):
    stopped_on = forms.DateField(
        label="Stopped on", widget=DATE_WIDGET, error_messages={"required": "Enter the date it was stopped."}
    )
