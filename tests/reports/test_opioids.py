"""The report's opioid figures (outcome-definitions.md, Version 2: Opioids and its exact reading; data-exchange.md's
`opioids` section): among treatments with a baseline MME above 0, per time point, the evaluable ones (closed, not
superseded), those reduced by at least 50% (exactly), discontinued, the rate and the median change."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.medications.services import medication_statement_create
from apps.reports.outcomes import opioid_ablation_ids_for, outcomes_compute
from tests.reports.test_outcomes_v2 import AS_OF, day, report_json, rows, treatment

pytestmark = pytest.mark.django_db


def take(patient, opioid: str, dose: str, *, start: int, stop: int | None = None):
    return medication_statement_create(
        patient=patient,
        opioid=opioid,
        daily_dose=Decimal(dose),
        started_on=day(start),
        stopped_on=day(stop) if stop is not None else None,
    )


@pytest.fixture
def opioid_users():
    """Three treated patients: one halving morphine on day 14 (a same-day handover) and stopping it on day 90, one on
    buprenorphine alone (baseline MME 0: not counted), one on oxycodone treated again on day 100."""
    from tests.factories import PatientFactory

    halving, bupe, repeated = PatientFactory(), PatientFactory(), PatientFactory()
    take(halving, "morphine", "40", start=-60, stop=14)
    take(halving, "morphine", "20", start=14, stop=90)
    take(bupe, "buprenorphine", "8", start=-30)
    take(repeated, "oxycodone", "20", start=-10)
    first = treatment(halving, kind="cryoablation")
    treatment(bupe)
    oxy = treatment(repeated)
    treatment(repeated, on=100)  # the same nerve and side: supersedes oxy's windows begun after day 100
    return first, oxy


def test_the_opioid_rows_follow_the_exact_readings(opioid_users):
    # when
    data = report_json()

    # then
    by = rows(data, "opioids", "group", "time_point")
    # 2 weeks: 40 -> 20 (exactly 50%, counted), 30 -> 30 twice (the oxycodone patient's two treatments, the repeat
    # on day 100 being one on opioids of its own); the buprenorphine patient's baseline is 0: not counted
    assert by[("overall", "2w")] == {
        "group": "overall", "time_point": "2w", "on_opioids": 3, "evaluable": 3, "reduced_50": 1,
        "discontinued": 0, "rate": 1 / 3, "median_change": 0.0,
    }  # fmt: skip
    assert (by[("kind:cryoablation", "2w")]["rate"], by[("kind:cryoablation", "2w")]["median_change"]) == (1.0, -20.0)
    # 3 months: morphine stopped on day 90, the target day: discontinued
    assert (by[("overall", "3m")]["discontinued"], by[("overall", "3m")]["reduced_50"]) == (1, 1)
    # 6 months: the repeated treatment's time point is superseded: not evaluable
    assert (by[("kind:rf_conventional", "6m")]["on_opioids"], by[("kind:rf_conventional", "6m")]["evaluable"]) == (2, 1)
    assert by[("kind:cryoablation", "6m")]["median_change"] == -40.0


def test_the_drill_down_names_the_treatments_behind_a_figure(opioid_users):
    # given
    first, oxy = opioid_users
    report = outcomes_compute(as_of=AS_OF)

    # when
    reduced = opioid_ablation_ids_for(filters=report.filters, time_point="2w", measure="reduced_50")
    evaluable = opioid_ablation_ids_for(filters=report.filters, time_point="6m", measure="evaluable")

    # then
    assert reduced == [first.pk]
    assert oxy.pk not in evaluable and first.pk in evaluable


def test_the_csv_report_has_the_opioids_section(opioid_users):
    # when
    out = io.StringIO()
    call_command("outcomes_report", "--format", "csv", "--as-of", AS_OF.isoformat(), stdout=out)

    # then
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    header = next(line for line in lines if line[:1] == ["section"] and "on_opioids" in line)
    assert header[4:] == [
        "group", "time_point", "on_opioids", "evaluable", "reduced_50", "discontinued", "rate", "median_change",
    ]  # fmt: skip
    cryo_2w = next(line for line in lines if line[:1] == ["opioids"] and line[4:6] == ["kind:cryoablation", "2w"])
    assert cryo_2w[6:] == ["1", "1", "1", "0", "1.0", "-20.0"]


def test_the_dashboard_shows_opioid_users_reduced_and_stopped_with_intervals_and_drill_down(opioid_users, admin_client):
    # given
    first, _ = opioid_users

    # when
    page = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF.isoformat(), "physician": ""})

    # then: 2 weeks, 1 of 3 evaluable halved; 3 months, 1 stopped; each count links to its treatments
    rows = {row["time_point"]: row for row in page.context["opioid_rows"]}
    two_weeks = rows["2w"]
    assert (two_weeks["on_opioids"].text, two_weeks["evaluable"].text, two_weeks["reduced_50"].text) == ("3", "3", "1")
    assert rows["2w"]["rate"] == "33.3%" and rows["2w"]["ci"] != "—"
    assert rows["3m"]["discontinued"].text == "1" and rows["3m"]["discontinued_ci"] != "—"
    html = page.content.decode()
    assert "Opioid use after treatment" in html
    drill = admin_client.get(rows["3m"]["discontinued"].url)
    assert [p.pk for p in drill.context["procedures"]] == [first.pk]
    assert "Opioids discontinued at 3 months" in drill.content.decode()


def test_the_dashboards_opioid_figures_follow_its_filters(opioid_users, admin_client):
    # when filtered to conventional radiofrequency
    page = admin_client.get(
        reverse("reports:dashboard"), {"as_of": AS_OF.isoformat(), "physician": "", "kind": "rf_conventional"}
    )

    # then only the oxycodone patient's two treatments are counted, none reduced
    rows = {row["time_point"]: row for row in page.context["opioid_rows"]}
    assert (rows["2w"]["on_opioids"].text, rows["2w"]["reduced_50"].text, rows["2w"]["rate"]) == ("2", "0", "0.0%")
