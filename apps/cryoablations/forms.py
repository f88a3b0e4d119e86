from __future__ import annotations

from typing import cast

from django import forms
from django.utils import timezone

from apps.accounts.selectors import physician_list
from apps.blocks.forms import PhysicianChoiceField
from apps.blocks.models import DiagnosticBlock
from apps.clinic.selectors import nerve_list, protocol_get
from apps.patients.models import Patient

from .models import Cryoablation


class QualifyingBlockField(forms.ModelChoiceField):
    def label_from_instance(self, obj: DiagnosticBlock) -> str:
        return f"{timezone.localdate(obj.performed_at):%Y-%m-%d} · {obj.nerve} · {obj.get_side_display()}"


class CryoablationForm(forms.ModelForm):
    physician = PhysicianChoiceField(queryset=physician_list())
    qualifying_block = QualifyingBlockField(
        queryset=DiagnosticBlock.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choose a block of this patient."},
        help_text="Leave it to the rule, or name another block of the same nerve and side.",
    )

    class Meta:
        model = Cryoablation
        fields = [
            "performed_on",
            "physician",
            "nerve",
            "side",
            "guidance",
            "device",
            "probe",
            "cycles",
            "freeze_seconds",
            "baseline_nrs",
            "complications",
            "qualifying_block",
        ]
        widgets = {
            "performed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "complications": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.patient = patient
        cast(forms.ModelChoiceField, self.fields["nerve"]).queryset = nerve_list()
        cast(forms.ModelChoiceField, self.fields["qualifying_block"]).empty_label = (
            "Chosen by the rule: the latest positive block of this nerve and side in the "
            f"{protocol_get().qualifying_block_days} days before"
        )
        cast(forms.ModelChoiceField, self.fields["qualifying_block"]).queryset = DiagnosticBlock.objects.filter(
            patient=patient
        ).select_related("nerve")
        if self.instance.pk and self.instance.qualifying_source != "staff":
            # An ablation whose block the rule chose stays with the rule unless staff name another.
            self.initial["qualifying_block"] = None


class WorklistFilterForm(forms.Form):
    """The worklist's time point filter: one of the protocol's time points, or all of them."""

    time_point = forms.ChoiceField(
        label="Time point",
        required=False,
        error_messages={"invalid_choice": "Choose a time point from the list."},
    )

    def __init__(self, *args, time_points, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["time_point"]).choices = [("", "All time points")] + [
            (tp.code, tp.label) for tp in time_points
        ]
