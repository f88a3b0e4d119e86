"""Reads for the dashboards, drill-downs and report runs. Every figure comes from apps.reports.outcomes; this
module only caches it and fetches the procedures a drill-down names."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import asdict
from typing import cast
from uuid import UUID

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.accounts.roles import NETWORK_OUTCOMES
from apps.blocks.models import DiagnosticBlock
from apps.clinic.selectors import site_network, sites_of
from apps.cryoablations.models import Cryoablation

from . import outcomes
from .models import ReportRun

CACHE_SECONDS = 24 * 60 * 60  # the key changes with the data (outcomes.data_version), so this only bounds memory

# figure -> (procedure kind, measures): what a drill-down may ask for.
DRILL_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "opioids": ("ablation", ("on_opioids", "evaluable", "reduced_50", "discontinued")),
    "instruments": ("ablation", ("evaluable", "responders", "positive_baseline", "positive_now")),
    "funnel": ("block", ("blocks", "evaluable", "positive", "ablated")),
    "funnel_3m": ("ablation", ("evaluable_3m", "responders_3m")),
    "response": (
        "ablation",
        (
            "ablations",
            "closed",
            "superseded",
            "evaluable",
            "responders",
            "responders_30",
            "pgic_improved",
            "missing",
            "completed",
        ),
    ),
    "band": ("ablation", ("evaluable_3m", "responders_3m")),
    "durability": ("ablation", ("ablations", "events", "censored")),
}


def _cached[T](prefix: str, filters: outcomes.OutcomesFilters, compute: Callable[[], T]) -> T:
    """`compute()` from the cache while no figure's data has changed (outcomes.data_version), keyed by the filters."""
    key_source = repr((sorted(asdict(filters).items()), outcomes.data_version()))
    key = prefix + hashlib.sha256(key_source.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cast(T, pickle.loads(cached))  # noqa: S301 - written by this function only, in our own Redis
    value = compute()
    cache.set(key, pickle.dumps(value), CACHE_SECONDS)
    return value


def dashboard_get(*, filters: outcomes.OutcomesFilters) -> outcomes.Dashboard:
    """The engine's dashboard for these filters, from the cache while no figure's data has changed: computing it
    over a whole clinic takes a few hundred milliseconds, reading it back a few."""
    return _cached("reports:dashboard:v2:", filters, lambda: outcomes.dashboard_compute(filters=filters, page=True))


def durability_get(*, filters: outcomes.OutcomesFilters) -> outcomes.Durability:
    """The overall durability for these filters (outcomes.durability_compute), cached as dashboard_get."""
    return _cached("reports:durability:v1:", filters, lambda: outcomes.durability_compute(filters=filters))


def drill_ids(
    *,
    filters: outcomes.OutcomesFilters,
    figure: str,
    measure: str,
    time_point: str = "",
    band: str = "",
    instrument: str = "",
) -> tuple[str, list[int]]:
    """(kind, ids) of the procedures behind one figure; Http404 for a figure or measure that does not exist."""
    if figure not in DRILL_FIGURES or measure not in DRILL_FIGURES[figure][1]:
        raise Http404("No such figure.")
    kind = DRILL_FIGURES[figure][0]
    if figure == "funnel":
        return kind, outcomes.block_ids_for(filters=filters, measure=measure)
    if figure == "funnel_3m":
        return kind, outcomes.funnel_ablation_ids_for(filters=filters, measure=measure)
    if figure == "response":
        return kind, outcomes.ablation_ids_for(filters=filters, time_point=time_point, measure=measure)
    if figure == "opioids":
        return kind, outcomes.opioid_ablation_ids_for(filters=filters, time_point=time_point, measure=measure)
    if figure == "instruments":
        return kind, outcomes.instrument_ablation_ids_for(
            filters=filters, instrument=instrument, time_point=time_point, measure=measure
        )
    if figure == "band":
        if band not in outcomes.BANDS:
            raise Http404("No such band.")
        return kind, outcomes.band_ablation_ids_for(filters=filters, band=band, measure=measure)
    return kind, outcomes.durability_ablation_ids_for(filters=filters, measure=measure)


def drill_procedures(*, kind: str, ids: list[int]) -> QuerySet[DiagnosticBlock] | QuerySet[Cryoablation]:
    """The blocks or ablations of a drill-down with their patients, in date order."""
    model = DiagnosticBlock if kind == "block" else Cryoablation
    order = "performed_at" if kind == "block" else "performed_on"
    return model.objects.filter(pk__in=ids).select_related("patient", "nerve", "physician").order_by(order, "pk")


def outcome_site_ids(user: User) -> tuple[int, ...] | None:
    """The sites whose patients `user`'s figures count unless they choose otherwise (OutcomesFilters.site_ids): their
    own sites in a network; None with one site (every patient)."""
    if not site_network():
        return None
    return tuple(sites_of(user).values_list("pk", flat=True))


def _runs_visible_to(user: User) -> QuerySet[ReportRun]:
    """The report runs `user` may open. With one site, every run. In a network (README, "Sites"): those they asked
    for, those counting only patients of their own sites, their own monthly report, and those counting the whole
    network (pooled figures, no patient listed) with NETWORK_OUTCOMES."""
    runs = ReportRun.objects.select_related("nerve", "physician", "requested_by")
    if not site_network():
        return runs
    own = list(sites_of(user).values_list("pk", flat=True))
    visible = Q(requested_by=user) | Q(site_ids__contained_by=own) | Q(kind=ReportRun.Kind.MONTHLY, physician=user)
    if user.has_perm(NETWORK_OUTCOMES):
        visible |= Q(site_ids__isnull=True)
    return runs.filter(visible)


def report_run_get(*, public_id: UUID | str, user: User) -> ReportRun:
    """A run `user` may open; 404 for another's (as for no run), so that its existence is not revealed."""
    return get_object_or_404(_runs_visible_to(user), public_id=public_id)


def report_run_list(*, user: User) -> QuerySet[ReportRun]:
    """The report runs `user` may open, newest first, with what its row shows (who asked, the filters' names)."""
    return _runs_visible_to(user)


def compare_get(*, filters: outcomes.OutcomesFilters) -> outcomes.OutcomesReport:
    """The report of the Compare treatments page (every kind, with the kinds' curves), cached as dashboard_get."""
    return _cached("reports:compare:v1:", filters, lambda: outcomes.kinds_compare(filters=filters))
