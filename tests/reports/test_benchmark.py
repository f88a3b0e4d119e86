"""Sites compared (issue 18): each site's funnel and 3-month response beside the network's, from one statement that
counts every site as the dashboard counts it with site_ids=(that site,); the funnel plot's control limits; sites
named only to their own members ("Site 1".."Site n" to the others); physicians and admins only; one site: a note."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import replace
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.audit.models import AccessEvent
from apps.clinic.models import Site
from apps.reports.benchmark import (
    ABOVE,
    BELOW,
    SiteFigures,
    against_network,
    control_limits,
    limit_curves,
    pooled_rate,
    site_figures,
    site_labels,
)
from apps.reports.outcomes import OVERALL, dashboard_compute, outcomes_filters
from tests.factories import BlockFactory, PatientFactory, UserFactory
from tests.reports.test_outcomes_v2 import AS_OF, answer, treatment

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
BLOCKED_AT = dt.datetime(2025, 1, 3, 10, tzinfo=NEW_YORK)  # a week before the treatments: their qualifying block


def patients_at(site: Site, *, responders: int, non_responders: int, negative_blocks: int = 0) -> None:
    """Patients of `site`, each with a positive block and a conventional RF treatment it qualifies, answered at 3
    months (pain 8 -> 2: a responder; 8 -> 7: not); and patients with a negative block only."""
    for pain in [2] * responders + [7] * non_responders:
        patient = PatientFactory(site=site)
        block = BlockFactory(patient=patient, performed_at=BLOCKED_AT, diary=[(30, 1)])
        answer(treatment(patient, baseline_nrs=8, qualifying_block=block), on_day=90, pain=pain)
    for _ in range(negative_blocks):
        BlockFactory(patient=PatientFactory(site=site), performed_at=BLOCKED_AT, diary=[(30, 7)])


@pytest.fixture
def two_sites() -> tuple[Site, Site]:
    """Site A (the registry's first site, renamed): 3 responders of 4, a negative block; Site B: 1 of 3."""
    site_a = Site.objects.get()
    site_a.name = "North Clinic"
    site_a.save()
    site_b = Site.objects.create(name="South Clinic")
    patients_at(site_a, responders=3, non_responders=1, negative_blocks=1)
    patients_at(site_b, responders=1, non_responders=2)
    return site_a, site_b


def funnel_and_response(filters):
    dashboard = dashboard_compute(filters=filters)
    funnel = next(r for r in dashboard.report.funnel if r.group == OVERALL)
    response = dashboard.report.response_row(OVERALL, "3m")
    return {
        "blocks": funnel.blocks,
        "positive": funnel.positive,
        "treated": funnel.treated,
        "evaluable": response.evaluable,
        "responders": response.responders,
    }


@pytest.mark.parametrize("kind", [None, "rf_conventional", "cryoablation"])
def test_each_sites_counts_are_the_dashboards_for_that_site(two_sites, kind):
    # given two sites' patients, and the filters of the page (every site's patients)
    site_a, site_b = two_sites
    filters = replace(outcomes_filters(as_of=AS_OF), kind=kind)

    # when every site is counted in one statement
    figures = {f.site_id: f for f in site_figures(filters=filters)}

    # then each site's row is the dashboard's figures for that site alone
    assert set(figures) == {site_a.pk, site_b.pk}
    for site in two_sites:
        row = figures[site.pk]
        counts = {name: getattr(row, name) for name in ("blocks", "positive", "treated", "evaluable", "responders")}
        assert counts == funnel_and_response(replace(filters, site_ids=(site.pk,)))
    # and the numbers are the ones made (not just equal: zero would be equal too)
    expected_a = (5, 4, 4, 4, 3) if kind != "cryoablation" else (5, 4, 0, 0, 0)
    a = figures[site_a.pk]
    assert (a.blocks, a.positive, a.treated, a.evaluable, a.responders) == expected_a
    # and the sites add up to the network's rate
    network = funnel_and_response(filters)
    assert sum(f.evaluable for f in figures.values()) == network["evaluable"]
    assert pooled_rate(figures.values()) == (
        network["responders"] / network["evaluable"] if network["evaluable"] else None
    )


def test_the_figures_ignore_the_filters_own_sites_and_follow_the_dates():
    # given a second site and a patient at each
    site_a, site_b = Site.objects.get(), Site.objects.create(name="B")
    patients_at(site_a, responders=1, non_responders=0)
    patients_at(site_b, responders=0, non_responders=1)
    filters = outcomes_filters(as_of=AS_OF)

    # when counted with the filters kept to site A, and with a range that holds no treatment
    kept = {f.site_id: f.evaluable for f in site_figures(filters=replace(filters, site_ids=(site_a.pk,)))}
    later = site_figures(filters=replace(filters, date_from=dt.date(2025, 6, 1)))

    # then every site still has its own row, and the range keeps nothing
    assert kept == {site_a.pk: 1, site_b.pk: 1}
    assert all(f.blocks == f.evaluable == 0 for f in later)


def test_control_limits_are_the_pooled_rate_plus_or_minus_z_standard_errors_within_0_and_1():
    # a rate of 0.5 over 100: standard error 0.05
    low, high = control_limits(0.5, 100, 1.96)
    assert math.isclose(low, 0.5 - 1.96 * 0.05) and math.isclose(high, 0.5 + 1.96 * 0.05)
    low, high = control_limits(0.5, 100, 3.09)
    assert math.isclose(low, 0.5 - 3.09 * 0.05) and math.isclose(high, 0.5 + 3.09 * 0.05)
    # clipped to 0..1 at small n
    assert control_limits(0.9, 1, 3.09) == (0.0, 1.0)
    assert control_limits(0.2, 2, 3.09)[0] == 0.0
    # none at all around a rate of 0 or 1
    assert control_limits(0.0, 10, 3.09) == (0.0, 0.0)


def test_a_site_outside_the_998_limits_is_above_or_below_the_network():
    # given a network rate of 50% and sites of 100 treatments (99.8% limits: 34.55% .. 65.45%)
    def site(responders: int, n: int = 100) -> SiteFigures:
        return SiteFigures(site_id=1, evaluable=n, responders=responders)

    assert against_network(site(66), 0.5) == ABOVE
    assert against_network(site(34), 0.5) == BELOW
    assert against_network(site(65), 0.5) == ""
    assert against_network(site(35), 0.5) == ""
    # outside the 95% limits (40.2% .. 59.8%) but inside the 99.8% ones: not marked
    assert against_network(site(62), 0.5) == ""
    # a small site at 100%: within the wide limits of 4 treatments
    assert against_network(site(4, n=4), 0.5) == ""
    # no evaluable treatment: no position
    assert against_network(site(0, n=0), 0.5) == ""


def test_the_limits_are_drawn_from_one_treatment_to_the_largest_site_and_narrow():
    curves = limit_curves(0.5, 80)
    assert [c.label for c in curves] == ["95% limits", "99.8% limits"]
    for curve in curves:
        ns = [n for n, _, _ in curve.curve]
        assert ns[0] == 1 and ns[-1] == 80 and ns == sorted(set(ns))
        widths = [high - low for _, low, high in curve.curve]
        assert widths == sorted(widths, reverse=True)
    # the 99.8% limits lie outside the 95% ones
    assert all(
        wide[1] <= narrow[1] and wide[2] >= narrow[2]
        for narrow, wide in zip(curves[0].curve, curves[1].curve, strict=True)
    )


def test_own_sites_are_named_and_the_others_numbered_by_their_treatments_ties_by_id():
    figures = [
        SiteFigures(site_id=1, evaluable=5),
        SiteFigures(site_id=2, evaluable=9),
        SiteFigures(site_id=3, evaluable=5),
        SiteFigures(site_id=4, evaluable=1),
    ]
    assert site_labels(figures, own={3: "North"}) == {2: "Site 1", 1: "Site 2", 4: "Site 3", 3: "North"}
    assert site_labels(figures, own={}) == {2: "Site 1", 1: "Site 2", 3: "Site 3", 4: "Site 4"}


def page_text(client, **query) -> str:
    response = client.get(reverse("reports:benchmark"), {"as_of": AS_OF, **query})
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_a_physician_sees_their_site_by_name_and_the_other_as_site_1_and_vice_versa(client, two_sites):
    # given a physician of each site
    site_a, site_b = two_sites
    doctor_a, doctor_b = UserFactory(role=Role.PHYSICIAN), UserFactory(role=Role.PHYSICIAN)
    site_a.members.add(doctor_a)
    site_b.members.add(doctor_b)

    # when each opens Sites compared
    client.force_login(doctor_a)
    seen_by_a = page_text(client)
    client.force_login(doctor_b)
    seen_by_b = page_text(client)

    # then each reads their own site's name and the other's pseudonym, never the other's name
    def names(text: str) -> list[str]:
        return re.findall(r'<th scope="row" class="site-name">([^<]*)</th>', text)

    assert names(seen_by_a) == ["North Clinic", "Site 1"]
    assert "South Clinic" not in seen_by_a
    assert names(seen_by_b) == ["South Clinic", "Site 1"]
    assert "North Clinic" not in seen_by_b
    # and the funnel plot has a dot for each site, labelled the same way
    assert seen_by_a.count('class="site-dot"') == 2
    assert ">Site 1</text>" in seen_by_a and ">North Clinic</text>" in seen_by_a
    # and the figures are the sites' (North: 3 of 4; the network 4 of 7)
    assert '<td data-label="Rate" class="rate">75.0%</td>' in seen_by_a
    assert "4/7 · 57.1%" in seen_by_a
    # and the durability is their sites' against the network's
    assert "North Clinic" in seen_by_a.split('id="benchmark-durability"')[1]
    assert "Network (every site)" in seen_by_a
    # and no link leads to a patient
    assert reverse("reports:drill") not in seen_by_a
    assert AccessEvent.objects.filter(actor=doctor_a, object_type="site_benchmark").count() == 1


def test_a_site_far_from_the_network_is_marked(client):
    # given a site whose 3-month response is far above the rest of the network's
    site_a, site_b = Site.objects.get(), Site.objects.create(name="B")
    patients_at(site_a, responders=12, non_responders=0)
    patients_at(site_b, responders=1, non_responders=15)
    doctor = UserFactory(role=Role.PHYSICIAN)
    site_a.members.add(doctor)
    client.force_login(doctor)

    # when they open the page
    text = page_text(client)

    # then their site is above the network, the other below
    rows = re.findall(r'class="against">(?:<strong>)?([^<]*)<', text)
    assert rows == ["above the network", "below the network"]


def test_the_link_is_in_the_navigation_only_in_a_network(client, physician):
    # given one site
    client.force_login(physician)
    dashboard = reverse("reports:dashboard")
    link = f'href="{reverse("reports:benchmark")}"'

    # then the navigation has no link and the page says there is only one site
    assert link not in client.get(dashboard, {"as_of": AS_OF}).content.decode()
    text = page_text(client)
    assert 'id="benchmark-single-site"' in text and "only one site" in text
    assert 'class="site-dot"' not in text

    # when a second site is added, the link is there
    Site.objects.create(name="Second")
    assert link in client.get(dashboard, {"as_of": AS_OF}).content.decode()
    assert 'id="benchmark-single-site"' not in page_text(client)


def test_staff_without_outcomes_get_403_and_bad_filters_show_no_figures(client, staff_user, physician):
    Site.objects.create(name="Second")
    client.force_login(staff_user)
    assert client.get(reverse("reports:benchmark")).status_code == 403
    client.force_login(physician)
    text = page_text(client, date_from="2025-06-01", date_to="2025-01-01")
    assert 'id="filter-errors"' in text and 'id="benchmark-table"' not in text


def test_a_member_of_no_site_sees_every_site_numbered_and_the_network_curve_only(client, admin_user, two_sites):
    client.force_login(admin_user)
    text = page_text(client)
    assert re.findall(r'<th scope="row" class="site-name">([^<]*)</th>', text) == ["Site 1", "Site 2"]
    assert "North Clinic" not in text and "South Clinic" not in text
    assert "you are a member of no site" in text
