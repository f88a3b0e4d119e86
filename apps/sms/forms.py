from __future__ import annotations

from typing import cast

from django import forms
from django.utils import timezone

from apps.reminders.models import Message


def prompt_label(message: Message) -> str:
    """A question as staff recognise it: the patient, what it asked about and when it went."""
    patient = message.patient
    sent = timezone.localtime(message.sent_at).strftime("%Y-%m-%d %H:%M") if message.sent_at else "not sent"
    if message.block is not None:
        what = f"diary {message.diary_minutes} min after the {message.block.nerve} block"
    elif message.follow_up is not None:
        what = f"{message.follow_up.label} follow-up"
    else:  # pragma: no cover - the messages' constraint
        what = "message"
    return f"{patient.last_name}, {patient.first_name} ({patient.mrn}): {what}, sent {sent}"


class AttachForm(forms.Form):
    prompt = forms.ChoiceField(label="The question it answers", error_messages={"required": "Choose the question."})
    value = forms.IntegerField(
        label="Pain score (0 to 10)",
        min_value=0,
        max_value=10,
        error_messages={
            "required": "Enter the pain score, a whole number from 0 to 10.",
            "min_value": "Enter the pain score, a whole number from 0 to 10.",
            "max_value": "Enter the pain score, a whole number from 0 to 10.",
            "invalid": "Enter the pain score, a whole number from 0 to 10.",
        },
    )

    def __init__(self, *args, candidates: list[Message], **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {str(m.public_id): m for m in candidates}
        cast(forms.ChoiceField, self.fields["prompt"]).choices = [("", "Choose…")] + [
            (key, prompt_label(m)) for key, m in self.candidates.items()
        ]

    def clean_prompt(self) -> Message:
        return self.candidates[self.cleaned_data["prompt"]]


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Why does it need no answer recorded?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": "Say why this message needs no answer recorded."},
    )
