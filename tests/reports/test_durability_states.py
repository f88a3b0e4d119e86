"""The durability states (apps.reports.models.DurabilityState; reports migration 0016): at any as-of date, the state
that holds for each treatment is what the rule makes of its durability steps and its repeat date, and the triggers
keep the table equal to a fresh refresh through every kind of change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.adverse_events.models import AdverseEvent
from apps.clinic.models import Protocol, Site
from apps.cryoablations.models import Cryoablation
from apps.demo.generator import seed_demo
from apps.instruments.models import InstrumentAnswer
from apps.patients.models import Patient
from apps.reports import sql
from apps.reports.models import DurabilityState, TreatmentFact
from apps.surveys.models import SurveyResponse
from tests.factories import make_ablation

# The rule, read straight from the steps and the repeat dates (outcome-definitions.md, "Version 2: exact readings"):
# without a repeat by as_of, the step that holds then; repeated by as_of, the step's non-responding answer completed
# before the repeat date, otherwise an event on the repeat date itself.
FROM_THE_STEPS = """
    SELECT t.ablation_id,
           CASE WHEN rep.day IS NOT NULL AND NOT (st.event AND st.day < rep.day) IS TRUE THEN TRUE
                ELSE st.event END AS event,
           CASE WHEN rep.day IS NOT NULL AND NOT (st.event AND st.day < rep.day) IS TRUE THEN rep.day
                ELSE st.day END AS day
    FROM reports_treatmentfact t
    LEFT JOIN (
        SELECT x.ablation_id, x.event, (x.marker_completed_at AT TIME ZONE %(tz)s)::date - x.performed_on AS day
        FROM reports_durabilitystep x
        WHERE x.closed_after < %(as_of)s::date AND (x.until IS NULL OR x.until >= %(as_of)s::date)
    ) st ON st.ablation_id = t.ablation_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.repeat_on <= %(as_of)s::date THEN t.repeat_on - t.performed_on END AS day
    ) rep
    WHERE t.baseline_nrs > 0 AND (st.ablation_id IS NOT NULL OR rep.day IS NOT NULL)
"""
NO_FILTERS = {
    "date_from": None,
    "date_to": None,
    "physician_id": None,
    "nerve_id": None,
    "side": None,
    "kind": None,
    "site_ids": None,
}
STATES = (
    "SELECT ablation_id, valid_from, valid_until, event, day, site_id, kind, nerve_id, physician_id, side, performed_on"
)


def _query(statement: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return sorted(cursor.fetchall())


def _read(as_of: dt.date, tz: str = settings.TIME_ZONE) -> tuple[list[tuple], list[tuple]]:
    """At `as_of`: what the figures read of the states, and what the rule makes of the steps."""
    figures = f"SELECT id, event, day FROM ({sql.DURABILITY_TREATMENTS}) s"  # noqa: S608 - the module's own SQL
    return _query(figures, {**NO_FILTERS, "as_of": as_of}), _query(FROM_THE_STEPS, {"as_of": as_of, "tz": tz})


def _as_of_dates() -> list[dt.date]:
    """Every date at which a state begins or ends, the day before it, and today."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT valid_from FROM reports_durabilitystate UNION SELECT valid_until FROM reports_durabilitystate "
            "WHERE valid_until IS NOT NULL"
        )
        edges = {row[0] for row in cursor.fetchall()}
    return sorted(edges | {day - dt.timedelta(days=1) for day in edges} | {timezone.localdate()})


def _states() -> list[tuple]:
    return _query(f"{STATES} FROM reports_durabilitystate", {})  # noqa: S608


def _refreshed() -> list[tuple]:
    """The states written afresh from the steps and the treatment facts, in a savepoint rolled back."""
    savepoint = connection.savepoint()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_durability_states_refresh(ARRAY(SELECT ablation_id FROM reports_treatmentfact))")
    fresh = _states()
    connection.savepoint_rollback(savepoint)
    return fresh


@pytest.fixture
def registry(db):
    """Two sites' patients with every kind of treatment, repeats among them, as the demo makes them."""
    Site.objects.create(name="North Clinic", time_zone=Site.objects.get().time_zone)
    seed_demo(patients=60)


def test_at_every_date_the_states_hold_what_the_rule_makes_of_the_steps(registry):
    # given
    dates = _as_of_dates()
    repeated = TreatmentFact.objects.filter(repeat_on__isnull=False).count()

    # when / then
    assert repeated > 0 and len(dates) > 20
    events = 0
    for as_of in dates:
        figures, rule = _read(as_of)
        assert figures == rule, as_of
        events += sum(1 for _, event, _ in figures if event)
    assert events > 0


def test_the_states_follow_every_change(registry):
    # given
    assert _states() == _refreshed()

    # when: answers change, a treatment is repeated, one is deleted, a date moves, the responder reduction changes
    for answer in SurveyResponse.objects.filter(pain_average__isnull=False).order_by("pk")[:10]:
        answer.pain_average = (answer.pain_average + 4) % 11
        answer.save(update_fields=["pain_average"])
    not_repeated = TreatmentFact.objects.filter(repeat_on__isnull=True, baseline_nrs__gt=0)
    first = Cryoablation.objects.get(pk=not_repeated.order_by("performed_on", "ablation_id")[0].ablation_id)
    make_ablation(
        patient=first.patient,
        performed_on=first.performed_on + dt.timedelta(days=100),
        nerve=first.nerve,
        side=first.side,
        physician=first.physician,
        kind=first.kind,
    )
    unanswered = (
        Cryoablation.objects.exclude(pk__in=InstrumentAnswer.objects.values("treatment_id"))
        .exclude(pk__in=SurveyResponse.objects.values("ablation_id"))
        .exclude(pk__in=AdverseEvent.objects.filter(treatment__isnull=False).values("treatment_id"))
    )
    repeating = unanswered.filter(pk__in=TreatmentFact.objects.values("superseded_by_id"))
    (repeating.first() or unanswered.first()).delete()  # the treatment it repeated is repeated no more
    moved = Cryoablation.objects.order_by("pk")[3]
    Cryoablation.objects.filter(pk=moved.pk).update(performed_on=moved.performed_on - dt.timedelta(days=30))
    Protocol.objects.update(responder_percent=Decimal("40"))
    Patient.objects.filter(pk=first.patient_id).update(site=Site.objects.exclude(pk=first.patient.site_id).get())

    # then
    assert TreatmentFact.objects.get(ablation_id=first.pk).repeat_on == first.performed_on + dt.timedelta(days=100)
    assert DurabilityState.objects.filter(ablation_id=first.pk).exclude(site_id=first.patient.site_id).exists()
    assert _states() == _refreshed()
    for as_of in _as_of_dates()[::5]:
        figures, rule = _read(as_of)
        assert figures == rule, as_of


def test_the_days_are_counted_in_the_clinics_time_zone(registry):
    # when: the clinic's time zone changes (the application tells the database at every migrate)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_time_zone_set('Asia/Tokyo')")
    try:
        # then: the states count the answers' days in the new zone
        assert _states() == _refreshed()
        for as_of in _as_of_dates()[::5]:
            figures, rule = _read(as_of, tz="Asia/Tokyo")
            assert figures == rule, as_of
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reports_time_zone_set(%s)", [settings.TIME_ZONE])
