from __future__ import annotations

from typing import cast

from django import forms
from django.utils import timezone

from apps.accounts.selectors import physician_list
from apps.clinic.rules import NRS_MAX, NRS_MIN
from apps.clinic.selectors import nerve_list, protocol_for
from apps.patients.models import Patient

from .models import DiagnosticBlock

DIARY_ROWS = 8


class PhysicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class DiagnosticBlockForm(forms.ModelForm):
    physician = PhysicianChoiceField(queryset=physician_list())

    class Meta:
        model = DiagnosticBlock
        fields = [
            "performed_at",
            "physician",
            "suspected_diagnosis",
            "nerve",
            "side",
            "guidance",
            "drug",
            "concentration_percent",
            "volume_ml",
            "needle",
            "needle_gauge",
            "baseline_nrs",
            "trigger_point_cm_from_midline",
            "trigger_point_mm_caudal_to_psis",
            "tinel_sign",
            "worse_with_posture",
            "compression_symptoms",
            "notes",
        ]
        widgets = {
            "performed_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["nerve"]).queryset = nerve_list()
        if not self.is_bound and self.instance.pk is None:
            # A block is mostly logged as it is done: now, in the clinic's time zone, to the minute.
            self.initial.setdefault("performed_at", timezone.localtime().replace(second=0, microsecond=0))


class DiaryRowForm(forms.Form):
    minutes_after = forms.IntegerField(label="Minutes after injection", min_value=0, required=False)
    nrs = forms.IntegerField(label="Pain (NRS 0–10)", min_value=NRS_MIN, max_value=NRS_MAX, required=False)

    def clean(self):
        data = super().clean()
        minutes, nrs = data.get("minutes_after"), data.get("nrs")
        if minutes is None and nrs is not None and "minutes_after" not in self.errors:
            self.add_error("minutes_after", "Enter the minutes after injection for this score.")
        # A time prefilled from the protocol (diary_formset) and left without a score is an unused row.
        if nrs is None and minutes is not None and "nrs" not in self.errors and self.has_changed():
            self.add_error("nrs", "Enter the pain score for this time.")
        return data


class BaseDiaryFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            minutes = form.cleaned_data.get("minutes_after")
            if minutes is None or form.cleaned_data.get("nrs") is None:
                continue
            if minutes in seen:
                form.add_error("minutes_after", f"There is already a score at {minutes} minutes.")
            seen.add(minutes)

    @property
    def diary(self) -> list[tuple[int, int]]:
        rows = [(f.cleaned_data.get("minutes_after"), f.cleaned_data.get("nrs")) for f in self.forms]
        return sorted((m, n) for m, n in rows if m is not None and n is not None)


# A subclass of BaseDiaryFormSet (django-stubs types formset_factory's class as a BaseFormSet).
DiaryFormSet = cast(type[BaseDiaryFormSet], forms.formset_factory(DiaryRowForm, formset=BaseDiaryFormSet, extra=0))


def diary_formset(block: DiagnosticBlock | None = None, data=None, patient: Patient | None = None) -> BaseDiaryFormSet:
    if block is not None:
        initial = [{"minutes_after": e.minutes_after, "nrs": e.nrs} for e in block.diary_entries.all()]
    else:  # a new block of `patient`: a row for each diary time of their site's protocol, the score left to type
        site_id = patient.site_id if patient is not None else None
        initial = [{"minutes_after": minutes} for minutes in sorted(protocol_for(site_id).diary_minutes)]
    # Blank rows to type into, after the existing entries.
    initial += [{}] * max(DIARY_ROWS - len(initial), 2)
    return DiaryFormSet(data=data, initial=initial, prefix="diary")
