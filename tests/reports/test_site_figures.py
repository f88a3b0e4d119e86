"""Sites (issue 18): every figure can be kept to some sites' patients (OutcomesFilters.site_ids), a treatment's and
a block's site being its patient's; with no sites chosen (one site, or the network's pooled figures) every patient
counts, as before."""

from __future__ import annotations

from dataclasses import replace

import pytest

from apps.adverse_events.services import adverse_event_create
from apps.clinic.models import Site
from apps.reports.outcomes import OVERALL, block_ids_for, dashboard_compute, outcomes_filters
from tests.factories import BlockFactory, PatientFactory
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
        assert dashboard.report.repeat[OVERALL].events == patients
        assert next(r for r in dashboard.report.adverse_events if r.group == OVERALL).with_event == patients
        assert next(p for p in dashboard.pain if p.time_point == "baseline").answers == 2 * patients
    # and a drill-down lists only the chosen site's blocks
    assert len(block_ids_for(filters=replace(pooled, site_ids=(second.pk,)), measure="blocks")) == 3
    # and no site at all counts nothing
    assert overall(dashboard_compute(filters=replace(pooled, site_ids=())), "response").treatments == 0
