"""The counts by month (apps.reports.models.FollowUpCell, PainCell, InstrumentCell; reports migration 0015): the
dashboard's page counted from them shows the figures the report counts from the facts, whatever the filters, and the
triggers keep them equal to a fresh count through every kind of change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.clinic.models import Nerve, Protocol, Site
from apps.cryoablations.models import Cryoablation
from apps.demo.generator import seed_demo
from apps.instruments.models import InstrumentAnswer
from apps.reports import benchmark, outcomes, sql, tasks
from apps.surveys.models import SurveyResponse

CELLS = {
    "reports_followupcell": (
        "site_id, time_point, kind, nerve_id, performed_month, window_end_month, band, positive",
        "follow_ups, superseded, answered, evaluable, responders, responders_30, pgic_improved",
    ),
    "reports_paincell": (
        "site_id, time_point, performed_month, window_end_month, pain_average, baseline_nrs",
        "follow_ups",
    ),
    "reports_instrumentcell": (
        "site_id, time_point, kind, nerve_id, performed_month, window_end_month, instrument_id, change",
        "follow_ups, responders, positive_baseline, positive_now",
    ),
    "reports_blockcell": ("site_id, nerve_id, peak_relief_percent, ablated", "blocks"),
    "reports_opioidcell": (
        "site_id, time_point, kind, nerve_id, performed_month, window_end_month, change",
        "follow_ups, evaluable, reduced_50, discontinued",
    ),
}


def _sums(table: str) -> list[tuple]:
    """A cell table as its readers see it: each cell's rows added up (cells that net to nothing left out)."""
    keys, counts = CELLS[table]
    sums = ", ".join(f"sum({c})" for c in counts.split(", "))
    first = counts.split(", ")[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {keys}, {sums} FROM {table} GROUP BY {keys} HAVING sum({first}) <> 0 ORDER BY {keys}"  # noqa: S608
        )
        return cursor.fetchall()


def _rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def _recounted(table: str) -> list[tuple]:
    """The table counted again from the facts (its rebuild function), read back, in a savepoint rolled back."""
    savepoint = connection.savepoint()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {table}_rebuild()")
    fresh = _sums(table)
    connection.savepoint_rollback(savepoint)
    return fresh


@pytest.fixture
def registry(db):
    """Two sites' patients with every kind of treatment, answers, instruments and opioids, as the demo makes them."""
    Site.objects.create(name="North Clinic", time_zone=Site.objects.get().time_zone)
    seed_demo(patients=40)


def _page(filters: outcomes.OutcomesFilters, *, by_month: bool, monkeypatch) -> outcomes.Dashboard:
    with monkeypatch.context() as patch:
        if not by_month:
            patch.setattr(sql, "FIGURES_OF_THE_PAGE_BY_MONTH", sql.FIGURES_OF_THE_PAGE)
            patch.setattr(sql, "PAGE_INSTRUMENTS_BY_MONTH", sql.PAGE_INSTRUMENTS_SECTION)
            patch.setattr(sql, "PAGE_OPIOIDS_BY_MONTH", sql.PAGE_OPIOIDS_SECTION)
        return outcomes.dashboard_compute(filters=filters, page=True)


def _overall(dashboard: outcomes.Dashboard) -> dict:
    report = dashboard.report
    return {
        "response": [r for r in report.response if r.group == outcomes.OVERALL],
        # The nerves the page lists: those with a block under the filters.
        "funnel": [
            r for r in report.funnel if r.group == outcomes.OVERALL or (r.group in report.nerve_names and r.blocks)
        ],
        "bands": report.threshold_bands,
        "durability": report.durability,
        "instruments": [r for r in report.instruments if r.group == outcomes.OVERALL],
        "opioids": [r for r in report.opioids if r.group == outcomes.OVERALL],
        "pain": dashboard.pain,
        "completion": dashboard.completion,
    }


def _filters() -> list[tuple[str, dict]]:
    today = timezone.localdate()
    return [
        ("no filter", {}),
        ("dates cutting months", {"date_from": today - dt.timedelta(days=400), "date_to": today - dt.timedelta(45)}),
        ("whole months", {"date_from": dt.date(today.year - 1, 1, 1), "date_to": dt.date(today.year - 1, 12, 31)}),
        ("an earlier as-of date mid-month", {"as_of": today - dt.timedelta(days=200)}),
        ("a kind", {"kind": "cryoablation"}),
        ("a nerve", {"nerve": "superior_cluneal"}),
        ("a site", {"site": True}),
        ("a side (counted from the facts)", {"side": "left"}),
    ]


@pytest.mark.parametrize(("name", "chosen"), _filters(), ids=[name for name, _ in _filters()])
def test_the_page_counted_by_month_shows_the_figures_counted_from_the_facts(registry, monkeypatch, name, chosen):
    # given: the filters
    extra = dict(chosen)
    if extra.pop("site", False):
        extra["site_ids"] = (Site.objects.order_by("pk").first().pk,)
    if "nerve" in extra:
        extra["nerve_id"] = Nerve.objects.get(code=extra.pop("nerve")).pk
    filters = outcomes.outcomes_filters(**extra)

    # when: the page is counted by month, from the facts, and the whole report is counted from the facts
    by_month = _overall(_page(filters, by_month=True, monkeypatch=monkeypatch))
    from_facts = _overall(_page(filters, by_month=False, monkeypatch=monkeypatch))
    report = _overall(outcomes.dashboard_compute(filters=filters))

    # then: every figure the page shows is the same
    assert by_month == from_facts == report
    assert sum(r.treatments for r in by_month["response"]) > 0
    if not chosen:
        assert by_month["funnel"][0].evaluable_3m > 0  # the funnel's 3-month rows, counted by month


def test_the_counts_by_month_follow_every_change_and_compaction_keeps_their_sums(registry):
    # given: counts equal to a fresh count after the seeding
    for table in CELLS:
        assert _sums(table) == _recounted(table), table
    rows_before = {table: _rows(table) for table in CELLS}

    # when: answers change, a treatment is deleted, a treatment's date moves, the responder reduction changes
    answers = SurveyResponse.objects.filter(pain_average__isnull=False).order_by("pk")[:10]
    for answer in answers:
        answer.pain_average = (answer.pain_average + 3) % 11
        answer.save(update_fields=["pain_average"])
    unanswered = Cryoablation.objects.exclude(pk__in=InstrumentAnswer.objects.values("treatment_id")).exclude(
        pk__in=SurveyResponse.objects.values("ablation_id")
    )
    unanswered.order_by("pk").first().delete()  # its follow-ups' facts go with it
    moved = Cryoablation.objects.order_by("-pk").first()
    Cryoablation.objects.filter(pk=moved.pk).update(performed_on=moved.performed_on - dt.timedelta(days=40))
    Protocol.objects.update(responder_percent=Decimal("40"))
    Protocol.objects.update(block_threshold_percent=Decimal("70"))

    # then: every table adds up to a fresh count
    for table in CELLS:
        assert _sums(table) == _recounted(table), table
    assert any(_rows(table) > rows_before[table] for table in CELLS)  # the changes were appended

    # when: the cells are compacted (the Celery beat's task)
    sums = {table: _sums(table) for table in CELLS}
    tasks.cells_compact()

    # then: one row a cell, the same sums
    for table in CELLS:
        assert _sums(table) == sums[table], table
        assert _rows(table) == len(sums[table]), table


def test_the_page_counts_at_the_new_responder_reduction(registry, monkeypatch):
    # given: the registry's responder reduction changed after the answers were counted
    Protocol.objects.update(responder_percent=Decimal("30"))
    filters = outcomes.outcomes_filters()

    # when / then: the page by month counts responders at 30%, as the facts do
    by_month = _overall(_page(filters, by_month=True, monkeypatch=monkeypatch))
    assert by_month == _overall(_page(filters, by_month=False, monkeypatch=monkeypatch))
    assert [r.responders for r in by_month["response"]] == [r.responders_30 for r in by_month["response"]]


@pytest.mark.parametrize("as_of_days_ago", [0, 200])
def test_sites_compared_counted_by_month_shows_the_figures_counted_from_the_facts(
    registry, monkeypatch, as_of_days_ago
):
    # given: the network's filters (every site), now and at an earlier as-of date
    filters = outcomes.outcomes_filters(as_of=timezone.localdate() - dt.timedelta(days=as_of_days_ago))

    # when: Sites compared's statement counts by month, and from the facts
    by_month = benchmark.site_figures(filters=filters)
    monkeypatch.setattr(sql, "SITE_FIGURES_BY_MONTH", sql.SITE_FIGURES)
    from_facts = benchmark.site_figures(filters=filters)

    # then: each site's figures are the same, and both sites have some
    assert by_month == from_facts
    assert len(by_month) == 2 and all(site.evaluable for site in by_month)
