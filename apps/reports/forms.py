from __future__ import annotations

from typing import cast

from django import forms
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.accounts.roles import CLINICAL, CONFIGURE, NETWORK_OUTCOMES
from apps.blocks.models import Side
from apps.clinic.models import Nerve
from apps.clinic.selectors import site_network, sites_of
from apps.cryoablations.models import Kind

from . import outcomes


def _physician_choices() -> list[tuple[str, str]]:
    # Inactive physicians too (e.g. created by a registry import): their outcomes are still there to look at.
    physicians = User.objects.filter(groups__name=Role.PHYSICIAN).order_by("last_name", "username")
    return [("", "All physicians")] + [(str(u.pk), u.display_name) for u in physicians]


# The site filter's value for the network's pooled figures (NETWORK_OUTCOMES only).
NETWORK = "network"


def _nerve_choices() -> list[tuple[str, str]]:
    return [("", "All nerves")] + [(str(pk), name) for pk, name in Nerve.objects.values_list("pk", "name")]


class _Filters(forms.Form):
    """Physician and nerve as plain choices read once (one query each, for checking and for the select), not
    ModelChoiceFields, which query again to check the value: the dashboard counts its queries."""

    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    physician = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    nerve = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    side = forms.ChoiceField(choices=[("", "All sides"), *Side.choices], required=False)
    # Every figure follows it; the funnel keeps its blocks and follows that kind's treatments from "treated" on.
    kind = forms.ChoiceField(label="Treatment", choices=[("", "All treatments"), *Kind.choices], required=False)
    # In a network only (README, "Sites"): the reader's sites, one of them, or the network's pooled figures.
    site = forms.ChoiceField(label="Site", required=False)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["physician"]).choices = _physician_choices()
        cast(forms.ChoiceField, self.fields["nerve"]).choices = _nerve_choices()
        # The ids of the reader's sites; None with one site, where no figure is kept to a site.
        self.own_sites: tuple[int, ...] | None = None
        # The site choice when none is made: the reader's own sites ("").
        self.default_site = ""
        if site_network():
            own = list(sites_of(user).values_list("pk", "name"))
            self.own_sites = tuple(pk for pk, _ in own)
            choices = [("", "My sites")] if len(own) != 1 else []
            choices += [(str(pk), name) for pk, name in own]
            if user.has_perm(NETWORK_OUTCOMES):
                choices.append((NETWORK, "Whole network (pooled)"))
                if not own:  # a network analyst, of no site: the network's figures
                    choices, self.default_site = [(NETWORK, "Whole network (pooled)")], NETWORK
            cast(forms.ChoiceField, self.fields["site"]).choices = choices
        else:
            del self.fields["site"]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    @property
    def pooled(self) -> bool:
        """The network's pooled figures were asked for (and allowed: the choice is offered only then)."""
        return self.own_sites is not None and self._site_choice() == NETWORK

    def _site_choice(self) -> str:
        return self.cleaned_data.get("site") or self.default_site

    def site_ids(self, *, patients: bool = False) -> tuple[int, ...] | None:
        """The sites whose patients the figures count (OutcomesFilters.site_ids): the one chosen, else the reader's
        own; the network's pooled figures count every patient (None), but never list one (`patients`: what a
        drill-down lists stays the reader's own sites'). None with one site."""
        if self.own_sites is None or (self.pooled and not patients):
            return None
        choice = self._site_choice()
        return (int(choice),) if choice and choice != NETWORK else self.own_sites


class OutcomesFilterForm(_Filters):
    """The dashboard's filters (and a drill-down's, which carries as_of so it re-runs exactly the same figures)."""

    as_of = forms.DateField(required=False, widget=forms.HiddenInput)

    def filters(self) -> outcomes.OutcomesFilters:
        """The filters; only for a valid form (a filter left out would widen the figures to more than asked)."""
        data = self.cleaned_data
        return outcomes.outcomes_filters(
            as_of=data.get("as_of") or timezone.localdate(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            physician_id=data.get("physician"),
            nerve_id=data.get("nerve"),
            side=data.get("side") or None,
            kind=data.get("kind") or None,
            site_ids=self.site_ids(),
        )


class CompareFilterForm(OutcomesFilterForm):
    """The dashboard's filters without the treatment: Compare treatments shows every kind side by side."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["kind"]


def dashboard_form(request, form_class: type[OutcomesFilterForm] = OutcomesFilterForm) -> OutcomesFilterForm:
    """ "My patients" by default for a physician: the physician filter is theirs until they choose another (or
    "All physicians", which sends physician= empty)."""
    data = request.GET.copy()
    # Who sees the dashboards and patients and does not configure the clinic is a physician (a network analyst sees
    # no patient); the permission checks read the permissions already loaded for the page's own check: no query.
    user = request.user
    if "physician" not in data and user.has_perm(CLINICAL) and not user.has_perm(CONFIGURE):
        data["physician"] = str(request.user.pk)
    return form_class(data, user=request.user)


class ReportRequestForm(_Filters):
    def cleaned_filters(self) -> dict:
        data = self.cleaned_data
        return {
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "physician": User.objects.get(pk=data["physician"]) if data.get("physician") else None,
            "nerve": Nerve.objects.get(pk=data["nerve"]) if data.get("nerve") else None,
            "side": data.get("side") or "",
            "treatment_kind": data.get("kind") or "",
            "site_ids": self.site_ids(),
        }
