"""Compare treatments: the kinds side by side, every figure the outcomes report's for the kind groups (one engine),
the kinds' Kaplan-Meier curves by the same estimate as the report's medians; physicians and admins only; the
dashboard's filters without the treatment."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.adverse_events.models import AdverseEvent
from apps.audit.models import AccessEvent
from apps.reports import charts
from apps.reports.outcomes import kinds_compare, outcomes_compute, outcomes_filters
from apps.reports.presentation import interval, percent
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.factories import PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
TREATED_ON = dt.date(2025, 1, 10)
AS_OF = dt.date(2026, 6, 30)


def answer(treatment, *, on_day: int, pain: int):
    completed = dt.datetime.combine(treatment.performed_on + dt.timedelta(days=on_day), dt.time(10), tzinfo=NEW_YORK)
    return response_record(
        ablation=treatment, completed_at=completed, pain_average=pain, collected_via=CollectedVia.PHONE
    )


@pytest.fixture
def physician():
    return UserFactory(role=Role.PHYSICIAN, first_name="Paz", last_name="Physician")


@pytest.fixture
def three_kinds(physician):
    """Cryoablations (two responders at every answered time point, one losing response), conventional RF (one
    responder, one non-responder, a related serious event), pulsed RF (never answered: no denominator)."""
    other = UserFactory(role=Role.PHYSICIAN)
    made = {"cryoablation": [], "rf_conventional": [], "rf_pulsed": []}
    for pains in ([2, 2, 2], [2, 3, 8]):
        t = make_ablation(
            patient=PatientFactory(), performed_on=TREATED_ON, kind="cryoablation", physician=physician, baseline_nrs=8
        )
        for on_day, pain in zip((14, 30, 90), pains, strict=True):
            answer(t, on_day=on_day, pain=pain)
        made["cryoablation"].append(t)
    for pain in (2, 7):
        t = make_ablation(
            patient=PatientFactory(), performed_on=TREATED_ON, kind="rf_conventional", physician=other, baseline_nrs=8
        )
        answer(t, on_day=90, pain=pain)
        made["rf_conventional"].append(t)
    AdverseEvent.objects.create(
        treatment=made["rf_conventional"][0],
        occurred_on=TREATED_ON + dt.timedelta(days=3),
        category="infection",
        severity="severe",
        serious=True,
        relatedness="possible",
    )
    made["rf_pulsed"].append(
        make_ablation(
            patient=PatientFactory(), performed_on=TREATED_ON, kind="rf_pulsed", physician=physician, baseline_nrs=8
        )
    )
    return made


def cells(html: str, table: str) -> dict[str, list[str]]:
    body = re.search(rf'<table[^>]*id="{table}".*?</table>', html, re.S).group(0)
    return {
        kind: [
            " ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for kind, row in re.findall(r'<tr data-kind="([^"]+)">(.*?)</tr>', body, re.S)
    }


def test_each_kinds_figures_are_the_reports_kind_groups(client, physician, three_kinds):
    # given the report's figures (the one engine) for the whole clinic
    report = outcomes_compute(as_of=AS_OF)
    client.force_login(physician)

    # when a physician compares the treatments of all physicians
    response = client.get(reverse("reports:compare"), {"as_of": AS_OF.isoformat(), "physician": ""})

    # then each kind with treatments has a row in words, in the catalog's order
    assert response.status_code == 200
    html = response.content.decode()
    table = cells(html, "compare-response-table")
    assert list(table) == ["cryoablation", "rf_conventional", "rf_pulsed"]
    assert [row[0] for row in table.values()] == [
        "Cryoablation",
        "Conventional radiofrequency",
        "Pulsed radiofrequency",
    ]
    # and at each time point: responders/evaluable, the rate and its Wilson interval, the ITT rate, the report's
    for kind, row in table.items():
        for cell, tp in zip(row[1:], report.time_points, strict=True):
            figures = report.response_row(f"kind:{kind}", tp)
            assert cell == (
                f"{figures.responders}/{figures.evaluable} · {percent(figures.rate)} 95% CI {interval(figures.ci)} "
                f"ITT {percent(figures.itt_rate)} ({figures.responders}/{figures.closed})"
            )
    # a kind never answered shows "—", never 0%
    assert table["rf_pulsed"][1].startswith("0/0 · — 95% CI —")
    three = report.response_row("kind:cryoablation", "3m")
    assert (three.responders, three.evaluable) == (1, 2) and table["cryoablation"][3].startswith("1/2 · 50.0%")

    # and the medians and counts of durability and time to repeat are the report's
    medians = cells(html, "compare-medians-table")
    for kind in table:
        durability, repeat = report.durability_groups[f"kind:{kind}"], report.repeat[f"kind:{kind}"]

        def words(days):
            return f"{days} days" if days is not None else "not reached"

        assert medians[kind][1:] == [
            str(durability.treatments),
            str(durability.events),
            words(durability.median_days),
            str(repeat.treatments),
            str(repeat.events),
            words(repeat.median_days),
        ]
    assert medians["rf_pulsed"][6] == "not reached"

    # and the adverse events are the report's
    adverse = cells(html, "compare-adverse-table")
    by_group = {row.group: row for row in report.adverse_events}
    for kind in table:
        row = by_group[f"kind:{kind}"]
        assert adverse[kind][1:] == [
            str(row.treatments),
            str(row.with_event),
            str(row.with_related),
            str(row.with_serious),
            percent(row.rate_related),
            interval(row.ci),
        ]
    assert adverse["rf_conventional"][1:5] == ["2", "1", "1", "1"]

    # and the two charts draw one line per kind, named in a legend
    for section in ("compare-durability",):
        svg = re.search(rf'<section[^>]*id="{section}".*?</section>', html, re.S).group(0)
        assert svg.count("<svg") == 2
        assert svg.count("<polyline") == 2 * 3
        for name in ("Cryoablation", "Conventional radiofrequency", "Pulsed radiofrequency"):
            assert svg.count(f">{name}</text>") == 2
    # and the page is logged as the dashboard is
    assert AccessEvent.objects.filter(actor=physician, object_type="compare_treatments").count() == 1


def test_the_kinds_curves_are_the_estimates_behind_the_reports_medians(three_kinds):
    # given the report's groups (counts and median only) and the compare figures (with the kinds' curves)
    filters = outcomes_filters(as_of=AS_OF)
    report, compared = outcomes_compute(as_of=AS_OF), kinds_compare(filters=filters)
    # then every figure is the same, and each kind has its curve
    assert compared.response == report.response and compared.adverse_events == report.adverse_events
    for key in ("kind:cryoablation", "kind:rf_conventional", "kind:rf_pulsed"):
        for mine, theirs in ((compared.durability_groups, report.durability_groups), (compared.repeat, report.repeat)):
            assert (mine[key].treatments, mine[key].events, mine[key].median_days) == (
                theirs[key].treatments,
                theirs[key].events,
                theirs[key].median_days,
            )
    cryo = compared.durability_groups["kind:cryoablation"]
    assert cryo.events == 1 and [s.survival for s in cryo.curve if s.events] == [0.5]
    assert cryo.median_days == next(s.day for s in cryo.curve if s.events)
    # and the kind filter does not narrow a comparison
    assert compared.groups == kinds_compare(filters=outcomes_filters(as_of=AS_OF, kind="cryoablation")).groups


def test_filters_narrow_every_kind_and_my_patients_by_default(client, physician, three_kinds):
    client.force_login(physician)
    url = reverse("reports:compare")

    # a physician sees their own patients by default: RF conventional was another physician's
    mine = client.get(url, {"as_of": AS_OF.isoformat()})
    assert list(cells(mine.content.decode(), "compare-response-table")) == ["cryoablation", "rf_pulsed"]
    assert "my patients" in mine.content.decode()

    # a date range without treatments: no rows, said in words
    empty = client.get(url, {"as_of": AS_OF.isoformat(), "physician": "", "date_from": "2025-02-01"})
    assert 'id="compare-empty"' in empty.content.decode()

    # the nerve filter keeps every kind of that nerve; another nerve has none
    same = client.get(
        url, {"as_of": AS_OF.isoformat(), "physician": "", "nerve": three_kinds["cryoablation"][0].nerve_id}
    )
    assert len(cells(same.content.decode(), "compare-response-table")) == 3

    # no treatment filter: a kind in the query is ignored, and the form has no such field
    kinded = client.get(url, {"as_of": AS_OF.isoformat(), "physician": "", "kind": "cryoablation"})
    assert len(cells(kinded.content.decode(), "compare-response-table")) == 3
    assert 'name="kind"' not in kinded.content.decode()

    # bad filters: a message naming them, no figures
    bad = client.get(url, {"date_from": "2025-03-01", "date_to": "2025-01-01"})
    assert "The start date is after the end date." in bad.content.decode()
    assert "compare-response-table" not in bad.content.decode()


def test_staff_cannot_compare_and_the_dashboard_links_to_it(client, physician):
    client.force_login(UserFactory(role=Role.STAFF))
    assert client.get(reverse("reports:compare")).status_code == 403
    client.force_login(physician)
    dashboard = client.get(reverse("reports:dashboard")).content.decode()
    assert f'href="{reverse("reports:compare")}?' in dashboard
    assert "Compare treatments" in dashboard


def test_the_chart_draws_each_series_in_its_own_colour_and_dash_with_a_legend():
    svg = charts.step_chart_series(
        [charts.Series("Cryoablation", [(0, 1.0), (30, 0.5)]), charts.Series("Pulsed radiofrequency", [(0, 1.0)])],
        title="Durability",
        description="By kind",
    )
    assert "<title>Durability</title><desc>By kind</desc>" in svg
    assert charts.SERIES_COLOURS[0] in svg and charts.SERIES_COLOURS[1] in svg
    assert f'stroke-dasharray="{charts.SERIES_DASHES[1]}"' in svg
    assert ">Cryoablation</text>" in svg and ">Pulsed radiofrequency</text>" in svg
    assert "style=" not in svg
