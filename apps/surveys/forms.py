from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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


class DiarySurveyForm(forms.Form):
    pain_current = nrs_field(_("Your pain right now"), required=True)
