from __future__ import annotations

from typing import cast

from django import forms

from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation

from .models import AdverseEvent, Category, Relatedness, Severity

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AdverseEventForm(forms.ModelForm):
    """An event on one treatment or one block. The model's own checks run on the form (ModelForm calls the
    model's clean), so a date before the procedure or a resolution before the start is refused, naming the field."""

    serious = forms.TypedChoiceField(
        label="Serious",
        choices=[("no", "No"), ("yes", "Yes")],
        coerce=lambda value: value == "yes",
        initial="no",
        widget=forms.RadioSelect,
        help_text=AdverseEvent._meta.get_field("serious").help_text,
    )

    class Meta:
        model = AdverseEvent
        fields = ["occurred_on", "category", "severity", "serious", "relatedness", "resolved_on", "notes"]
        labels = {"occurred_on": "Date it began", "relatedness": "Related to the procedure"}
        widgets = {
            "occurred_on": DATE_WIDGET,
            "resolved_on": DATE_WIDGET,
            "severity": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {"resolved_on": "Leave empty while it lasts."}
        error_messages = {
            "occurred_on": {"required": "Enter the date the problem began."},
            "category": {"required": "Choose what happened."},
            "severity": {"required": "Choose how severe it was."},
            "relatedness": {"required": "Say how likely the procedure caused it."},
        }

    def __init__(
        self,
        *args,
        treatment: Cryoablation | None = None,
        block: DiagnosticBlock | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.instance.treatment = treatment
            self.instance.block = block
        else:
            self.initial["serious"] = "yes" if self.instance.serious else "no"
        # Severity as three buttons with no empty one; the lists open on "Choose…" rather than dashes.
        cast(forms.ChoiceField, self.fields["severity"]).choices = Severity.choices
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", "Choose…"), *Category.choices]
        cast(forms.ChoiceField, self.fields["relatedness"]).choices = [("", "Choose…"), *Relatedness.choices]


class ProblemDismissForm(forms.Form):
    reason = forms.CharField(
        label="Why is this not an adverse event?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": "Say why this is not an adverse event."},
    )
