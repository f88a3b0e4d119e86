from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django import forms
from django.forms import BoundField
from django.utils import timezone

from apps.accounts.selectors import physician_list
from apps.blocks.forms import PhysicianChoiceField
from apps.blocks.models import DiagnosticBlock
from apps.clinic.selectors import nerve_list, protocol_for
from apps.patients.models import Patient

from .models import DETAILS, KIND_DETAILS, Cryoablation, Kind

# Cryoablation's usual protocol, offered on a new treatment (the columns have no default: other kinds leave them
# empty).
CRYOABLATION_INITIAL = {"cycles": 2, "freeze_seconds": 120}


class QualifyingBlockField(forms.ModelChoiceField):
    def label_from_instance(self, obj: DiagnosticBlock) -> str:
        return f"{timezone.localdate(obj.performed_at):%Y-%m-%d} · {obj.nerve} · {obj.get_side_display()}"


@dataclass(frozen=True)
class DetailField:
    """A detail of some kinds (KIND_DETAILS), shown while one of them is chosen."""

    field: BoundField
    kinds: tuple[str, ...]

    @property
    def kind_codes(self) -> str:
        return " ".join(self.kinds)

    @property
    def kind_labels(self) -> str:
        return "; ".join(Kind(kind).label for kind in self.kinds)


class TreatmentForm(forms.ModelForm):
    """A treatment of any kind: the kind first, then the details of every kind (KIND_DETAILS). The page shows only
    the chosen kind's (static/js/treatment-kind.js); a detail of another kind filled in anyway is refused by the
    model's clean, naming the field."""

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
            "kind",
            "performed_on",
            "physician",
            "nerve",
            "side",
            "guidance",
            *DETAILS,
            "baseline_nrs",
            "complications",
            "qualifying_block",
        ]
        labels = {"kind": "Kind of treatment"}
        widgets = {
            "kind": forms.RadioSelect,
            "performed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "removed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "complications": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.patient = patient
        if self.instance.pk is None:
            for name, value in CRYOABLATION_INITIAL.items():
                self.initial.setdefault(name, value)
        cast(forms.ModelChoiceField, self.fields["nerve"]).queryset = nerve_list()
        cast(forms.ModelChoiceField, self.fields["qualifying_block"]).empty_label = (
            "Chosen by the rule: the latest positive block of this nerve and side in the "
            f"{protocol_for(patient.site_id).qualifying_block_days} days before"
        )
        cast(forms.ModelChoiceField, self.fields["qualifying_block"]).queryset = DiagnosticBlock.objects.filter(
            patient=patient
        ).select_related("nerve")
        if self.instance.pk and self.instance.qualifying_source != "staff":
            # A treatment whose block the rule chose stays with the rule unless staff name another.
            self.initial["qualifying_block"] = None

    def detail_fields(self) -> list[DetailField]:
        """Each detail once, with the kinds it belongs to, in KIND_DETAILS' order."""
        return [
            DetailField(self[name], tuple(kind for kind, details in KIND_DETAILS.items() if name in details))
            for name in DETAILS
        ]


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
