"""The instruments' questions as form fields, for the patient's survey link, the staff answers form and the baseline
form: one radio group per item, in the instrument's published wording (instrument_texts: the patient's language,
or English where the instrument has none in it), every item required for a patient.

A field is named `<instrument code>-<item id>`; `answers()` gives the cleaned values back per instrument, as
services.instrument_answer_record takes them, and `add_service_errors` puts that service's errors (keyed
`answers.<item id>`) back at their item."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.cryoablations.models import Cryoablation

from .definitions import BASELINE
from .models import Instrument, InstrumentVersion
from .selectors import InstrumentTexts, baseline_first_day, instrument_texts, instruments_due

# An item with more answers than this is a numeric scale (PEG-3's 0..10): its answers show as numbers in a row,
# with the published labels of its ends beneath, as the pain questions are shown.
LABELLED_ANSWERS_MAX = 5


# What the page says where an instrument has no published text in the patient's language (a sentence per language,
# so each reads naturally in it: "español" in a Spanish sentence).
NOT_PUBLISHED_IN = {"es": _("This questionnaire is not available in Spanish; it is asked in English.")}
NOT_PUBLISHED = _("This questionnaire is not available in your language; it is asked in English.")


@dataclass(frozen=True)
class AskedItem:
    field: forms.BoundField
    scale: bool  # a numeric scale: number buttons, the ends' labels as anchors
    low: str
    high: str


@dataclass(frozen=True)
class AskedInstrument:
    """One instrument as the page asks it: its texts and its items with their bound fields, in order."""

    texts: InstrumentTexts
    items: list[AskedItem]

    @property
    def instrument(self) -> Instrument:
        return self.texts.instrument

    @property
    def not_published_note(self) -> str:
        """The note shown when the instrument is asked in English rather than the patient's language, or ""."""
        if self.texts.available:
            return ""
        return str(NOT_PUBLISHED_IN.get(self.texts.requested_language, NOT_PUBLISHED))


def field_name(instrument: Instrument, item_id: str) -> str:
    return f"{instrument.code}-{item_id}"


class InstrumentAnswersForm(forms.Form):
    """The items of the instruments due, each a required choice of its answers (`required`: a patient answers every
    item; staff may leave an instrument out whole, "not asked", but not half of it)."""

    def __init__(
        self,
        *args: Any,
        due: list[tuple[Instrument, InstrumentVersion]],
        language: str = "en",
        required: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.all_required = required
        self.asked: list[InstrumentTexts] = [instrument_texts(version=v, language=language) for _i, v in due]
        for texts in self.asked:
            for item in texts.items:
                scale = _is_scale(item)
                choices = [
                    (a["value"], str(a["value"]) if scale else (a["label"] or str(a["value"]))) for a in item["answers"]
                ]
                self.fields[field_name(texts.instrument, item["id"])] = forms.TypedChoiceField(
                    label=item["text"],
                    choices=choices,
                    coerce=int,
                    required=False,
                    empty_value=None,
                    widget=forms.RadioSelect,
                )

    @property
    def instruments(self) -> list[AskedInstrument]:
        return [
            AskedInstrument(
                texts,
                [
                    AskedItem(
                        self[field_name(texts.instrument, item["id"])],
                        _is_scale(item),
                        _end_label(item["answers"][0]),
                        _end_label(item["answers"][-1]),
                    )
                    for item in texts.items
                ],
            )
            for texts in self.asked
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for texts in self.asked:
            names = [field_name(texts.instrument, item["id"]) for item in texts.items]
            given = [n for n in names if cleaned.get(n) is not None]
            if not given and not self.all_required:
                continue  # staff: this instrument was not asked
            for name in names:
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Please choose an answer."))
        return cleaned

    def answers(self) -> list[tuple[Instrument, dict[str, int]]]:
        """(instrument, {item id: value}) of each instrument answered, in the order asked."""
        out = []
        for texts in self.asked:
            values = {
                item["id"]: self.cleaned_data[field_name(texts.instrument, item["id"])]
                for item in texts.items
                if self.cleaned_data.get(field_name(texts.instrument, item["id"])) is not None
            }
            if values:
                out.append((texts.instrument, values))
        return out

    def add_service_errors(self, instrument: Instrument, error: ValidationError) -> None:
        """instrument_answer_record's errors at their item (`answers.<item>`), the rest at the form."""
        for key, messages in error.message_dict.items():
            name = field_name(instrument, key.split(".", 1)[1]) if key.startswith("answers.") else None
            for message in messages:
                self.add_error(name if name in self.fields else None, f"{instrument.name}: {message}")


def _is_scale(item: dict[str, Any]) -> bool:
    return len(item["answers"]) > LABELLED_ANSWERS_MAX


def _end_label(answer: dict[str, Any]) -> str:
    return f"{answer['value']} = {answer['label']}" if answer["label"] else ""


def instrument_answers_form(
    data: Any = None, *, time_point: str, language: str = "en", required: bool = True, prefix: str | None = None
) -> InstrumentAnswersForm:
    """The form of the instruments the clinic's schedule asks at `time_point` (a protocol code, or baseline)."""
    return InstrumentAnswersForm(
        data, due=instruments_due(time_point=time_point), language=language, required=required, prefix=prefix
    )


class BaselineAnswersForm(InstrumentAnswersForm):
    """Staff enter the baseline instruments taken at the treatment visit: the date and time they were answered
    (0..30 days before the treatment date, both ends included, never in the future) and, of each instrument
    entered, every item (one baseline may come on another day: those already recorded are left out whole)."""

    completed_at = forms.DateTimeField(
        label="Answered",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, treatment: Cryoablation, **kwargs: Any) -> None:
        super().__init__(*args, due=instruments_due(time_point=BASELINE), required=False, **kwargs)
        self.treatment = treatment
        # The baseline window (the database's rule, instruments_baseline_first_day): the form refuses a date the rule
        # would not count, rather than store an answer that silently counts for nothing.
        self.baseline_first = baseline_first_day(treatment=treatment)
        # The date field first, then the items.
        self.order_fields(["completed_at"])
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            if not self.baseline_first <= timezone.localdate() <= treatment.performed_on:
                now = timezone.make_aware(dt.datetime.combine(treatment.performed_on, dt.time(9)))
            self.initial["completed_at"] = now

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not self.answers():
            raise forms.ValidationError("Answer at least one questionnaire.")
        return cleaned

    def clean_completed_at(self) -> dt.datetime:
        completed_at: dt.datetime = self.cleaned_data["completed_at"]
        try:
            day = timezone.localdate(completed_at)
        except OverflowError:
            raise forms.ValidationError("Enter a real date and time.") from None
        if completed_at > timezone.now():
            raise forms.ValidationError("This is in the future: enter when the questionnaires were answered.")
        first, last = self.baseline_first, self.treatment.performed_on
        if not first <= day <= last:
            raise forms.ValidationError(
                f"{day:%Y-%m-%d} does not count as a baseline: it must be on or before the treatment date, within "
                f"{(last - first).days} days ({first:%Y-%m-%d} to {last:%Y-%m-%d})."
            )
        return completed_at
