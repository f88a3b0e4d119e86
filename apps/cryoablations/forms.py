from __future__ import annotations

from django import forms
from django.utils import timezone

from apps.accounts.selectors import physician_list
from apps.blocks.forms import PhysicianChoiceField
from apps.blocks.models import DiagnosticBlock
from apps.clinic.selectors import nerve_list, protocol_get
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse

from .models import Cryoablation, FollowUp


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
        self.fields["nerve"].queryset = nerve_list()
        self.fields["qualifying_block"].empty_label = (
            "Chosen by the rule: the latest positive block of this nerve and side in the "
            f"{protocol_get().qualifying_block_days} days before"
        )
        self.fields["qualifying_block"].queryset = DiagnosticBlock.objects.filter(patient=patient).select_related(
            "nerve"
        )
        if self.instance.pk and self.instance.qualifying_source != "staff":
            # An ablation whose block the rule chose stays with the rule unless staff name another.
            self.initial["qualifying_block"] = None


class FollowUpAnswersForm(forms.ModelForm):
    """Answers that staff take down by phone or at a visit."""

    collected_via = forms.ChoiceField(
        label="Collected by",
        choices=[("phone", "Phone call"), ("clinic", "Clinic visit")],
        widget=forms.RadioSelect,
        initial="phone",
    )

    class Meta:
        model = SurveyResponse
        fields = [
            "completed_at",
            "collected_via",
            "pain_average",
            "pain_current",
            "pain_worst",
            "percent_relief",
            "pgic",
        ]
        widgets = {
            "completed_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, follow_up: FollowUp, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.follow_up = follow_up
        self.instance.ablation = follow_up.ablation
        if not self.is_bound:
            self.initial["completed_at"] = timezone.localtime().replace(second=0, microsecond=0)

    def clean_completed_at(self):
        completed_at = self.cleaned_data["completed_at"]
        try:
            day = timezone.localdate(completed_at)
        except OverflowError:  # year 1 typed as UTC: no local date in the clinic's time zone
            raise forms.ValidationError("Enter a real date and time of the answers.") from None
        follow_up = self.follow_up
        if not follow_up.window_start <= day <= follow_up.window_end:
            raise forms.ValidationError(
                f"{day:%Y-%m-%d} is outside the {follow_up.label} window "
                f"({follow_up.window_start:%Y-%m-%d} to {follow_up.window_end:%Y-%m-%d})."
            )
        return completed_at


class WorklistFilterForm(forms.Form):
    """The worklist's time point filter: one of the protocol's time points, or all of them."""

    time_point = forms.ChoiceField(
        label="Time point",
        required=False,
        error_messages={"invalid_choice": "Choose a time point from the list."},
    )

    def __init__(self, *args, time_points, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_point"].choices = [("", "All time points")] + [(tp.code, tp.label) for tp in time_points]
