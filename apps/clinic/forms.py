from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import SITE_PROTOCOL_FIELDS, Protocol, Site, SiteProtocol, SmsMode, TimePoint
from .selectors import site_network


class UserSitesMixin(forms.ModelForm):
    """The user form's choice of sites, in a network only (required there: a user works somewhere). A single-clinic
    registry's form has no such field, as before sites; its new users join the only site (user_sites_set)."""

    sites = forms.ModelMultipleChoiceField(
        Site.objects.all(), widget=forms.CheckboxSelectMultiple, help_text="The clinics this user works at."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not site_network():
            del self.fields["sites"]
        elif self.instance.pk:
            self.fields["sites"].initial = list(self.instance.sites.all())


class UserSitesCreationForm(UserSitesMixin, AdminUserCreationForm):
    pass


class UserSitesChangeForm(UserSitesMixin, UserChangeForm):
    pass


class ProtocolForm(forms.ModelForm):
    class Meta:
        model = Protocol
        fields = [
            "block_threshold_percent",
            "evaluation_window_minutes",
            "require_dual_blocks",
            "qualifying_block_days",
            "responder_percent",
            "invitation_hour",
            "reminder_days",
            "quiet_start_hour",
            "quiet_end_hour",
            "diary_minutes",
            "diary_sms_mode",
            "survey_sms_mode",
        ]


class TimePointForm(forms.ModelForm):
    class Meta:
        model = TimePoint
        fields = ["code", "label", "target_day", "window_start_day", "window_end_day"]
        labels = {"window_start_day": "Window from day", "window_end_day": "Window to day"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One row of a table whose header carries the labels: each control is named by its column's words.
        for field in self.fields.values():
            css = (
                "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control form-control-sm"
            )
            field.widget.attrs.update({"aria-label": field.label, "class": css})

    def clean(self):
        data = super().clean()
        start, target, end = (data.get(k) for k in ("window_start_day", "target_day", "window_end_day"))
        if None not in (start, target, end) and not start <= target <= end:
            self.add_error("target_day", "The target day must lie inside the window (start ≤ target ≤ end).")
        return data


class BaseTimePointFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = "Remove"
        form.fields["DELETE"].widget.attrs.update({"aria-label": "Remove", "class": "form-check-input"})


TimePointFormSet = forms.inlineformset_factory(
    Protocol, TimePoint, form=TimePointForm, formset=BaseTimePointFormSet, extra=1, can_delete=True
)


# A time point's days, as SiteTimePoint names them, and as the table's header reads them.
TIME_POINT_DAYS = [
    ("target_day", "Target day"),
    ("window_start_day", "Window from day"),
    ("window_end_day", "Window to day"),
]


class SiteProtocolForm(forms.ModelForm):
    """A site's own protocol (SiteProtocol): each field left blank follows the registry's, which its help text shows;
    and, for each of the registry's time points, the site's own days (all three, or none for the registry's)."""

    class Meta:
        model = SiteProtocol
        fields = list(SITE_PROTOCOL_FIELDS)

    def __init__(self, *args: Any, registry: Protocol, time_points: list[TimePoint], **kwargs):
        super().__init__(*args, **kwargs)
        days = {t.time_point_id: t for t in self.instance.time_points.all()} if self.instance.pk else {}
        for name in SITE_PROTOCOL_FIELDS:
            field = self.fields[name]
            field.required = False
            field.help_text = f"Blank: the registry's ({_shown(registry, name)})."
        follows = "Registry's"
        dual = forms.NullBooleanSelect(attrs={"class": "form-select"})
        dual.choices = [("unknown", follows), ("true", "Yes"), ("false", "No")]
        self.fields["require_dual_blocks"] = forms.NullBooleanField(
            label=self.fields["require_dual_blocks"].label,
            required=False,
            widget=dual,
            help_text=f"Blank: the registry's ({'yes' if registry.require_dual_blocks else 'no'}).",
        )
        for name in ("diary_sms_mode", "survey_sms_mode"):
            choices = self.fields[name].choices  # type: ignore[attr-defined]
            self.fields[name].choices = [("", follows), *[c for c in choices if c[0]]]  # type: ignore[attr-defined]
        self.time_points = time_points
        for time_point in time_points:
            own = days.get(time_point.pk)
            for part, label in TIME_POINT_DAYS:
                key = f"tp{time_point.pk}_{part}"
                name = f"{time_point.label}: {label.lower()}"
                self.fields[key] = forms.IntegerField(
                    label=name,
                    required=False,
                    min_value=0,
                    initial=getattr(own, part) if own is not None else None,
                    widget=forms.NumberInput(
                        attrs={
                            "placeholder": getattr(time_point, part),
                            "class": "form-control form-control-sm",
                            "aria-label": name,
                        }
                    ),
                )

    @property
    def day_labels(self) -> list[str]:
        """The time point table's column headings after the time point's."""
        return [label for _, label in TIME_POINT_DAYS]

    def time_point_rows(self) -> list[tuple[TimePoint, list[forms.BoundField]]]:
        """Each registry time point with its three day fields, for the template's table."""
        return [(tp, [self[f"tp{tp.pk}_{part}"] for part, _ in TIME_POINT_DAYS]) for tp in self.time_points]

    def clean(self):
        data = super().clean()
        for name in ("reminder_days", "diary_minutes"):
            if data.get(name) == []:  # a blank list follows the registry's, as every blank field does
                data[name] = None
        self.days: dict[int, tuple[int, int, int] | None] = {}
        for time_point in self.time_points:
            values = [data.get(f"tp{time_point.pk}_{part}") for part, _ in TIME_POINT_DAYS]
            if all(v is None for v in values):
                self.days[time_point.pk] = None
            elif any(v is None for v in values):
                self.add_error(
                    f"tp{time_point.pk}_target_day",
                    "Give the target day and both window days, or none (the registry's).",
                )
            elif not values[1] <= values[0] <= values[2]:
                self.add_error(
                    f"tp{time_point.pk}_target_day",
                    "The target day must lie inside the window (start ≤ target ≤ end).",
                )
            else:
                self.days[time_point.pk] = (values[0], values[1], values[2])
        return data


def _shown(protocol: Protocol, name: str) -> str:
    """A protocol field's value in words, for a site form's help texts."""
    value = getattr(protocol, name)
    if name == "block_threshold_percent":
        return f"{value.normalize():f}%"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if name.endswith("_sms_mode"):
        label = str(SmsMode(value).label)
        return label[0].lower() + label[1:]
    if name.endswith("_hour"):
        return f"{value}:00"
    return str(value)
