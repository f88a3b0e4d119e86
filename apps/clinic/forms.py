from __future__ import annotations

from django import forms

from .models import Protocol, TimePoint


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
        ]


class TimePointForm(forms.ModelForm):
    class Meta:
        model = TimePoint
        fields = ["code", "label", "target_day", "window_start_day", "window_end_day"]

    def clean(self):
        data = super().clean()
        start, target, end = (data.get(k) for k in ("window_start_day", "target_day", "window_end_day"))
        if None not in (start, target, end) and not start <= target <= end:
            self.add_error("target_day", "The target day must lie inside the window (start ≤ target ≤ end).")
        return data


TimePointFormSet = forms.inlineformset_factory(Protocol, TimePoint, form=TimePointForm, extra=1, can_delete=True)
