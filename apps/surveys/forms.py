from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.cryoablations.models import FollowUp
from apps.instruments.definitions import BASELINE
from apps.instruments.forms import InstrumentAnswersForm, instrument_answers_form

from .models import SurveyLink, SurveyResponse

NRS_CHOICES = [(n, str(n)) for n in range(11)]
PGIC_CHOICES = [
    (1, _("Very much improved")),
    (2, _("Much improved")),
    (3, _("Minimally improved")),
    (4, _("No change")),
    (5, _("Minimally worse")),
    (6, _("Much worse")),
    (7, _("Very much worse")),
]


# Every survey ends with "Any new problem since the procedure?" and the patient's own words; a yes goes on the staff
# queue (the worklist's "New problems" tab, apps.adverse_events).
NEW_PROBLEM_LABEL = _("Any new problem since the procedure?")
NEW_PROBLEM_TEXT_LABEL = _("What happened?")
NEW_PROBLEM_TEXT_MAX = 2000


def new_problem_field(*, unanswered: str | None = None) -> forms.NullBooleanField:
    """Yes, no or not answered; `unanswered` names the choice of not answering (the staff form: "Not asked"). A
    boolean field, so the API takes a JSON true or false for it (apps.api reads the page's form)."""
    choices: list[tuple[str, str | Promise]] = [("true", _("Yes")), ("false", _("No"))]
    if unanswered:
        choices.insert(0, ("", unanswered))
    return forms.NullBooleanField(label=NEW_PROBLEM_LABEL, required=False, widget=forms.RadioSelect(choices=choices))


def new_problem_text_field() -> forms.CharField:
    return forms.CharField(
        label=NEW_PROBLEM_TEXT_LABEL,
        required=False,
        max_length=NEW_PROBLEM_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("Please keep it under 2000 characters.")},
    )


def clean_new_problem(cleaned_data: dict) -> dict:
    """Words written without a yes or no are read as a yes: a patient who describes a problem has one, and staff
    see it on their queue rather than never. A "no" with words keeps both; nothing written is dropped."""
    if cleaned_data.get("new_problem_text", "").strip() and cleaned_data.get("new_problem") is None:
        cleaned_data["new_problem"] = True
    return cleaned_data


def nrs_field(label, *, required: bool) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=NRS_CHOICES,
        coerce=int,
        required=required,
        empty_value=None,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose a number from 0 to 10.")},
    )


class FollowUpSurveyForm(forms.Form):
    pain_average = nrs_field(_("Your average pain in the past 24 hours"), required=True)
    pain_current = nrs_field(_("Your pain right now"), required=False)
    pain_worst = nrs_field(_("Your worst pain in the past 24 hours"), required=False)
    percent_relief = forms.IntegerField(
        label=_("How much relief have you had since the procedure? (0 to 100%)"),
        min_value=0,
        max_value=100,
        required=False,
        error_messages={
            "min_value": _("Enter a number from 0 to 100."),
            "max_value": _("Enter a number from 0 to 100."),
            "invalid": _("Enter a number from 0 to 100."),
        },
    )
    pgic = forms.TypedChoiceField(
        label=_("Since the procedure, how would you describe the change in your pain?"),
        choices=PGIC_CHOICES,
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    new_problem = new_problem_field()
    new_problem_text = new_problem_text_field()

    def clean(self):
        return clean_new_problem(super().clean())


class BaselineSurveyForm(forms.Form):
    """A baseline link asks no pain question: only the instruments (link_instruments_form)."""


class DiarySurveyForm(forms.Form):
    pain_current = nrs_field(_("Your pain right now"), required=True)


class FollowUpAnswersForm(forms.ModelForm):
    """Answers that staff take down by phone or at a visit."""

    collected_via = forms.ChoiceField(
        label="Collected by",
        choices=[("phone", "Phone call"), ("clinic", "Clinic visit")],
        widget=forms.RadioSelect,
        initial="phone",
    )
    new_problem = new_problem_field(unanswered="Not asked")
    new_problem_text = new_problem_text_field()

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
            "new_problem",
            "new_problem_text",
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

    def clean(self):
        return clean_new_problem(super().clean())


# The instruments' fields carry this prefix beside the pain questions' (one HTML form, two Django forms).
INSTRUMENTS_PREFIX = "instrument"


def link_instruments_form(*, link: SurveyLink, data=None) -> InstrumentAnswersForm | None:
    """The instruments a follow-up's link asks after the pain questions (those the clinic's schedule names for its
    time point), or a baseline link asks alone, every item required, in the patient's language where the instrument
    is published in it; None for a diary link, or when none is due."""
    if link.is_baseline:
        time_point = BASELINE
    elif link.follow_up is not None:
        time_point = link.follow_up.time_point
    else:
        return None
    form = instrument_answers_form(
        data, time_point=time_point, language=link.patient.language, prefix=INSTRUMENTS_PREFIX
    )
    return form if form.asked else None


def follow_up_instruments_form(*, follow_up: FollowUp, data=None) -> InstrumentAnswersForm | None:
    """Staff's answers form: the instruments due at the follow-up's time point, in English (staff read them out
    in the patient's language from the published text); an instrument left out whole was not asked."""
    form = instrument_answers_form(data, time_point=follow_up.time_point, required=False, prefix=INSTRUMENTS_PREFIX)
    return form if form.asked else None
