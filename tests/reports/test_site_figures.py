"""Sites (issue 18): every figure can be kept to some sites' patients (OutcomesFilters.site_ids), a treatment's and
a block's site being its patient's; with no sites chosen (one site, or the network's pooled figures) every patient
counts, as before."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.adverse_events.services import adverse_event_create
from apps.clinic.models import Site
from apps.patients.models import Patient
from apps.reports.models import ReportRun
from apps.reports.outcomes import OVERALL, block_ids_for, dashboard_compute, durability_compute, outcomes_filters
from tests.factories import BlockFactory, PatientFactory, UserFactory
from tests.reports.test_instruments import ask, peg3
from tests.reports.test_opioids import take
from tests.reports.test_outcomes_v2 import AS_OF, answer, day, treatment

pytestmark = pytest.mark.django_db


def one_of_each(site: Site, *, patients: int) -> None:
    """`patients` patients of `site`, each with a positive block, a treatment answered at 3 months, PEG-3 at baseline
    and 3 months, morphine, a repeat on day 200 and an adverse event."""
    for _ in range(patients):
        patient = PatientFactory(site=site)
        BlockFactory(patient=patient, diary=[(30, 1)])
        first = treatment(patient, baseline_nrs=8)
        answer(first, on_day=90, pain=2)
        ask(first, "peg3", peg3(20), on_day=0)
        ask(first, "peg3", peg3(5), on_day=90)
        take(patient, "morphine", "40", start=-30)
        treatment(patient, on=200)
        adverse_event_create(
            treatment=first, category="infection", severity="mild", serious=False, relatedness="possible",
            occurred_on=day(3),
        )  # fmt: skip


def overall(dashboard, section: str, time_point: str | None = "3m"):
    return next(
        r
        for r in getattr(dashboard.report, section)
        if r.group == OVERALL and (time_point is None or r.time_point == time_point)
    )


def test_every_figure_counts_only_the_chosen_sites_patients():
    # given two patients of the first site, then a second site with three
    first = Site.objects.get()
    one_of_each(first, patients=2)
    second = Site.objects.create(name="Second")
    one_of_each(second, patients=3)
    pooled = outcomes_filters(as_of=AS_OF)

    # when the figures are computed for each site and for both
    figures = {
        name: dashboard_compute(filters=replace(pooled, site_ids=ids))
        for name, ids in [("first", (first.pk,)), ("second", (second.pk,)), ("both", None)]
    }

    # then each counts its own patients' blocks, treatments, answers, instruments, opioids, events and durability
    for name, patients in [("first", 2), ("second", 3), ("both", 5)]:
        dashboard = figures[name]
        assert next(r for r in dashboard.report.funnel if r.group == OVERALL).blocks == patients
        assert overall(dashboard, "response").treatments == 2 * patients  # the first and the repeat
        assert overall(dashboard, "response").evaluable == patients
        assert overall(dashboard, "opioids").on_opioids == 2 * patients
        peg = next(r for r in dashboard.report.instruments if r.group == OVERALL and r.instrument == "peg3")
        assert peg.evaluable == patients if peg.time_point == "3m" else True
        assert dashboard.report.durability.treatments == patients
        assert durability_compute(filters=dashboard.report.filters) == dashboard.report.durability  # Sites compared's
        assert dashboard.report.repeat[OVERALL].events == patients
        assert next(r for r in dashboard.report.adverse_events if r.group == OVERALL).with_event == patients
        assert next(p for p in dashboard.pain if p.time_point == "baseline").answers == 2 * patients
    # and a drill-down lists only the chosen site's blocks
    assert len(block_ids_for(filters=replace(pooled, site_ids=(second.pk,)), measure="blocks")) == 3
    # and no site at all counts nothing
    assert overall(dashboard_compute(filters=replace(pooled, site_ids=())), "response").treatments == 0


def test_a_patient_moved_to_another_site_takes_every_figure_of_theirs_along():
    # given two patients at the first site and three at the second
    first = Site.objects.get()
    one_of_each(first, patients=2)
    second = Site.objects.create(name="Second")
    one_of_each(second, patients=3)
    pooled = outcomes_filters(as_of=AS_OF)

    # when one patient of the first site moves to the second
    Patient.objects.filter(pk=Patient.objects.filter(site=first).order_by("pk")[0].pk).update(site=second)

    # then every section counts them at the second site (the facts carry the patient's site: migrations 0009, 0014)
    for site, patients in [(first, 1), (second, 4)]:
        dashboard = dashboard_compute(filters=replace(pooled, site_ids=(site.pk,)))
        assert next(r for r in dashboard.report.funnel if r.group == OVERALL).blocks == patients
        assert overall(dashboard, "response").treatments == 2 * patients
        assert overall(dashboard, "opioids").on_opioids == 2 * patients
        peg = next(
            r
            for r in dashboard.report.instruments
            if r.group == OVERALL and r.instrument == "peg3" and r.time_point == "3m"
        )
        assert peg.evaluable == patients
        assert dashboard.report.durability.treatments == patients
        assert next(p for p in dashboard.pain if p.time_point == "baseline").answers == 2 * patients


# The pages: in a network, a reader's figures are their sites' unless they may see the network's pooled figures.


@pytest.fixture
def network():
    """Two sites, the first with two patients and the second with three (one_of_each); a physician of each site and an
    admin of the first (admins may see the network's pooled figures)."""
    first = Site.objects.get()
    one_of_each(first, patients=2)
    second = Site.objects.create(name="Second")
    one_of_each(second, patients=3)
    people = {
        "first": UserFactory(role=Role.PHYSICIAN),
        "second": UserFactory(role=Role.PHYSICIAN),
        "admin": UserFactory(role=Role.ADMIN),
    }
    first.members.add(people["first"], people["admin"])
    second.members.add(people["second"])
    return {"site_1": first, "site_2": second, **people}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_physician_sees_only_their_site_s_figures_and_cannot_ask_for_the_network_s(network):
    # when the first site's physician opens the dashboard, and asks for the network's pooled figures
    client = signed_in(network["first"])
    response = client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "physician": ""})
    pooled = client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "physician": "", "site": "network"})

    # then the figures are their site's, named, and the pooled choice is not theirs (a field error, no figures)
    assert response.context["filters"].site_ids == (network["site_1"].pk,)
    assert dashboard_compute(filters=response.context["filters"]).report.funnel[0].blocks == 2
    choices = dict(response.context["form"].fields["site"].choices)
    assert choices == {str(network["site_1"].pk): network["site_1"].name}
    assert "filters" not in pooled.context and "site" in pooled.context["form"].errors


def test_an_admin_may_see_the_network_s_pooled_figures_but_drill_down_to_their_own_patients_only(network):
    # given the first site's admin
    client = signed_in(network["admin"])
    query = {"as_of": AS_OF, "physician": "", "site": "network"}

    # when they ask for the network's pooled figures, and the blocks behind its funnel
    response = client.get(reverse("reports:dashboard"), query)
    drill = client.get(reverse("reports:drill"), {**query, "figure": "funnel", "measure": "blocks"})

    # then the figures count all five patients, the drill-down lists the two of their own site and says so
    assert response.context["filters"].site_ids is None
    assert dashboard_compute(filters=response.context["filters"]).report.funnel[0].blocks == 5
    assert drill.context["count"] == 2
    assert {p.patient.site_id for p in drill.context["procedures"]} == {network["site_1"].pk}
    assert "only your sites' patients are listed" in drill.content.decode()


def test_report_runs_count_the_asker_s_sites_and_are_not_open_to_another_site(network):
    # given a report asked for by the second site's physician
    second = signed_in(network["second"])
    second.post(reverse("reports:run_new"), {"physician": ""})
    run = ReportRun.objects.get()

    # then it counts their site's patients, and the first site's physician neither lists nor opens it
    assert run.site_ids == [network["site_2"].pk]
    first = signed_in(network["first"])
    assert run not in first.get(reverse("reports:runs")).context["page"].object_list
    assert first.get(reverse("reports:run", args=[run.public_id])).status_code == 404
    assert second.get(reverse("reports:run", args=[run.public_id])).status_code == 200


def test_the_api_s_outcomes_report_counts_the_token_user_s_sites(network):
    # when the second site's physician asks the API for the outcomes report
    client = APIClient()
    client.force_authenticate(network["second"])
    data = client.get(reverse("api:outcomes_report"), {"as_of": AS_OF.isoformat()}).json()

    # then its funnel counts the three blocks of their site
    assert next(r for r in data["funnel"] if r["group"] == OVERALL)["blocks"] == 3


def test_a_network_analyst_sees_the_network_s_figures_and_no_patient(network):
    # given a network analyst, a member of no site
    analyst = signed_in(UserFactory(role=Role.NETWORK))

    # when they sign in and open the dashboard, and try a drill-down and a patient's page
    home = analyst.get(reverse("home"))
    response = analyst.get(reverse("reports:dashboard"), {"as_of": AS_OF})
    drill = analyst.get(reverse("reports:drill"), {"as_of": AS_OF, "figure": "funnel", "measure": "blocks"})

    # then the figures are the whole network's (every block), with no link to the patients behind them
    assert home.url == reverse("reports:dashboard")
    assert response.context["filters"].site_ids is None
    assert response.context["filters"].physician_id is None  # not "my patients": they have none
    assert dashboard_compute(filters=response.context["filters"]).report.funnel[0].blocks == 5
    assert reverse("reports:drill") not in response.content.decode()
    assert drill.status_code == 403
    assert analyst.get(reverse("patients:list")).status_code == 403
