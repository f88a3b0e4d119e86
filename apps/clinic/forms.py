from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import Protocol, Site, TimePoint
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
