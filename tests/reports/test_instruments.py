"""The report's instrument figures (outcome-definitions.md, "Instruments beyond pain intensity" and the exact reading
"Instruments"; data-exchange.md's `instruments` section), the dashboard's rows with their drill-down, and the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.instruments.services import instrument_answer_record
from apps.reports.outcomes import instrument_ablation_ids_for, outcomes_compute
from tests.factories import PatientFactory
from tests.reports.test_outcomes_v2 import AS_OF, NEW_YORK, report_json, rows, treatment

pytestmark = pytest.mark.django_db


def ask(t, code: str, answers: dict[str, int], *, on_day: int):
    completed = dt.datetime.combine(t.performed_on + dt.timedelta(days=on_day), dt.time(10), tzinfo=NEW_YORK)
    return instrument_answer_record(
        treatment=t, instrument=code, completed_at=completed, answers=answers, collected_via="staff"
    )


def peg3(total: int) -> dict[str, int]:
    """A PEG-3 whose three items add up to `total` (0..30)."""
    first = min(total, 10)
    second = min(total - first, 10)
    return {"1": first, "2": second, "3": total - first - second}


@pytest.fixture
def answered():
    """Four treatments answering PEG-3 and PHQ-2 at baseline and at 3 months:
    - a: PEG-3 20/3 -> 14/3 (exactly 30% less: a responder), PHQ-2 4 -> 2 (positive, then negative: a responder);
    - b: PEG-3 baseline 0 -> 1/3 (evaluable for the change, never a responder), PHQ-2 3 -> 3 (positive both times);
    - c: baseline answered 31 days before (none counts): not evaluable;
    - d: repeated on day 60 (same nerve and side): its 3-month window begins after the repeat, not evaluable."""
    a = treatment(PatientFactory(), kind="cryoablation")
    ask(a, "peg3", peg3(20), on_day=-30)  # 30 days before: still the baseline
    ask(a, "peg3", peg3(14), on_day=90)
    ask(a, "phq2", {"1": 2, "2": 2}, on_day=0)
    ask(a, "phq2", {"1": 1, "2": 1}, on_day=90)
    b = treatment(PatientFactory())
    ask(b, "peg3", peg3(0), on_day=-1)
    ask(b, "peg3", peg3(1), on_day=85)
    ask(b, "phq2", {"1": 2, "2": 1}, on_day=-1)
    ask(b, "phq2", {"1": 1, "2": 2}, on_day=85)
    c = treatment(PatientFactory())
    ask(c, "peg3", peg3(20), on_day=-31)
    ask(c, "peg3", peg3(2), on_day=90)
    patient = PatientFactory()
    d = treatment(patient)
    ask(d, "peg3", peg3(20), on_day=0)
    ask(d, "peg3", peg3(2), on_day=90)
    treatment(patient, on=60)
    return a, b, c, d


def test_the_instrument_rows_follow_the_exact_readings(answered):
    # when
    data = report_json()

    # then
    by = rows(data, "instruments", "group", "instrument", "time_point")
    peg = by[("overall", "peg3", "3m")]
    # change: a -2, b +1/3: the median of the two, exactly
    assert peg == {
        "group": "overall", "instrument": "peg3", "time_point": "3m", "evaluable": 2,
        "median_change": pytest.approx((-2 + 1 / 3) / 2, abs=1e-12), "responders": 1, "rate": 0.5,
        "positive_baseline": None, "positive_now": None,
    }  # fmt: skip
    phq = by[("overall", "phq2", "3m")]
    assert (phq["evaluable"], phq["responders"], phq["positive_baseline"], phq["positive_now"]) == (2, 1, 2, 1)
    assert by[("kind:cryoablation", "peg3", "3m")]["responders"] == 1
    assert by[("kind:rf_conventional", "peg3", "3m")]["responders"] == 0
    gad = by[("overall", "gad2", "3m")]
    assert (gad["evaluable"], gad["positive_baseline"], gad["rate"]) == (0, 0, None)


def test_the_kind_filter_applies(answered):
    data = report_json("--kind", "cryoablation")
    by = rows(data, "instruments", "group", "instrument", "time_point")
    assert by[("overall", "peg3", "3m")]["evaluable"] == 1


def test_the_drill_down_names_the_treatments_behind_a_figure(answered):
    # given
    a, b, c, d = answered
    report = outcomes_compute(as_of=AS_OF)

    # when
    evaluable = instrument_ablation_ids_for(
        filters=report.filters, instrument="peg3", time_point="3m", measure="evaluable"
    )
    positive_now = instrument_ablation_ids_for(
        filters=report.filters, instrument="phq2", time_point="3m", measure="positive_now"
    )

    # then
    assert sorted(evaluable) == sorted([a.pk, b.pk])
    assert positive_now == [b.pk]


def test_the_csv_report_has_the_instruments_section(answered):
    out = io.StringIO()
    call_command("outcomes_report", "--format", "csv", "--as-of", AS_OF.isoformat(), stdout=out)
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    header = next(line for line in lines if line[:1] == ["section"] and "positive_now" in line)
    assert header[4:] == [
        "group", "instrument", "time_point", "evaluable", "median_change", "responders", "rate", "positive_baseline",
        "positive_now",
    ]  # fmt: skip
    phq_3m = next(line for line in lines if line[:1] == ["instruments"] and line[4:7] == ["overall", "phq2", "3m"])
    assert phq_3m[7:] == ["2", "-1.0", "1", "0.5", "2", "1"]


def test_the_dashboard_shows_the_instrument_rows_with_intervals_and_drill_down(answered, admin_client):
    # given
    _, b, _, _ = answered

    # when
    page = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF.isoformat(), "physician": ""})

    # then
    found = {(row["instrument"], row["time_point"]): row for row in page.context["instrument_rows"]}
    peg = found[("peg3", "3m")]
    assert (peg["name"], peg["label"], peg["evaluable"].text, peg["responders"].text) == ("PEG-3", "3 months", "2", "1")
    assert peg["rate"] == "50.0%" and peg["ci"] != "—" and peg["median_change"] == "-0.8"
    assert not peg["screens"]
    phq = found[("phq2", "3m")]
    assert (phq["positive_baseline"].text, phq["positive_now"].text) == ("2", "1")
    assert phq["positive_now_rate"] == "50.0%" and phq["positive_now_ci"] != "—"
    html = page.content.decode()
    assert "Function and mood (PEG-3, PHQ-2, GAD-2)" in html
    drill = admin_client.get(phq["positive_now"].url)
    assert [p.pk for p in drill.context["procedures"]] == [b.pk]
    assert "PHQ-2: positive screen at 3 months" in drill.content.decode()


def test_the_dashboards_instrument_figures_follow_its_filters(answered, admin_client):
    page = admin_client.get(
        reverse("reports:dashboard"), {"as_of": AS_OF.isoformat(), "physician": "", "kind": "cryoablation"}
    )
    found = {(row["instrument"], row["time_point"]): row for row in page.context["instrument_rows"]}
    assert (found[("peg3", "3m")]["evaluable"].text, found[("peg3", "3m")]["responders"].text) == ("1", "1")
