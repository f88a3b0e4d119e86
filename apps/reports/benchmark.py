"""Sites compared (issue 18, README "Sites"): each site of a network beside the network, for its own physicians.

The funnel and the 3-month response of every site come from one statement (sql.SITE_FIGURES, the engine's fragments
and flags), drawn as a funnel plot against the network's control limits; the durability of the reader's sites and of
the whole network are the engine's own estimates (the dashboard's, with site_ids). Sites are named only to their own
members: the others are "Site 1".."Site n", numbered by their number of treatments, so a name never leaks. No figure
here leads to a patient (no drill-down): another site's patients are not the reader's to see.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.shortcuts import render

from apps.accounts.decorators import role_required
from apps.accounts.models import User
from apps.accounts.roles import OUTCOMES
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.replica import replica_reads
from apps.clinic.row_security import unscoped
from apps.clinic.selectors import site_network, sites_of

from . import charts, outcomes, sql
from .forms import OutcomesFilterForm
from .presentation import _curve, _median_in_words, interval, percent, setting_percent
from .selectors import durability_get

Z_998 = 3.090232306167813  # the 0.999 quantile of the standard normal distribution: 99.8%, two-sided
# The funnel's control limits, narrowest first.
LIMITS = (("95% limits", outcomes.Z_95), ("99.8% limits", Z_998))
LIMIT_POINTS = 200  # points on each limit's curve (spaced evenly on a log scale: the curve bends most at small n)
ABOVE, BELOW = "above", "below"


class BenchmarkFilterForm(OutcomesFilterForm):
    """The dashboard's filters that compare sites fairly: the dates, the nerve, the treatment (and as_of). A
    physician's or side's figures per site would be a handful each."""

    KEPT = ("date_from", "date_to", "nerve", "kind", "as_of")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in [name for name in self.fields if name not in self.KEPT]:
            del self.fields[name]


@dataclass(frozen=True)
class SiteFigures:
    """One site's funnel (blocks, positive, treated) and its treatments evaluable and responding at 3 months."""

    site_id: int
    blocks: int = 0
    positive: int = 0
    treated: int = 0
    evaluable: int = 0
    responders: int = 0

    @property
    def rate(self) -> float | None:
        return outcomes.rate(self.responders, self.evaluable)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return outcomes.wilson_interval(self.responders, self.evaluable)


def site_figures(*, filters: outcomes.OutcomesFilters) -> list[SiteFigures]:
    """Every site's figures under `filters` (whatever their site_ids: each row is its own site's), by site id."""
    statement = sql.SITE_FIGURES_BY_MONTH if filters.by_month else sql.SITE_FIGURES
    rows = outcomes._fetch(statement, replace(filters, site_ids=None).params())
    return [SiteFigures(**{name: int(value) for name, value in row.items()}) for row in rows]


def pooled_rate(figures: Iterable[SiteFigures]) -> float | None:
    """The network's 3-month response rate: every site's responders over every site's evaluable treatments."""
    figures = list(figures)
    return outcomes.rate(sum(f.responders for f in figures), sum(f.evaluable for f in figures))


def control_limits(rate: float, n: int, z: float) -> tuple[float, float]:
    """A funnel plot's limits around the pooled `rate` for a unit of `n` cases: rate ± z·√(rate(1−rate)/n), within
    0..1 (the normal approximation of the binomial)."""
    half = z * math.sqrt(rate * (1 - rate) / n)
    return max(0.0, rate - half), min(1.0, rate + half)


def against_network(site: SiteFigures, pooled: float, z: float = Z_998) -> str:
    """ABOVE or BELOW when the site's rate is outside the network's limits at `z` (99.8%) for its number; "" within
    them, or with no evaluable treatment."""
    if not site.evaluable:
        return ""
    low, high = control_limits(pooled, site.evaluable, z)
    rate = site.responders / site.evaluable
    return ABOVE if rate > high else BELOW if rate < low else ""


def site_labels(figures: Iterable[SiteFigures], *, own: dict[int, str]) -> dict[int, str]:
    """Each site's name on the page: its own name for the reader's sites (`own`: {id: name}); the others "Site 1"..
    "Site n", by their number of evaluable treatments (most first), ties by id: an order the plot shows anyway."""
    others = sorted((f for f in figures if f.site_id not in own), key=_numbering)
    labels = {f.site_id: f"Site {number}" for number, f in enumerate(others, start=1)}
    return {**labels, **own}


def _numbering(site: SiteFigures) -> tuple[int, int]:
    return -site.evaluable, site.site_id


def _in_order(figures: Iterable[SiteFigures], *, own: dict[int, str]) -> list[SiteFigures]:
    """The reader's sites by name, then the others as numbered ("Site 1" first)."""
    figures = list(figures)
    mine = sorted((f for f in figures if f.site_id in own), key=lambda f: own[f.site_id])
    return mine + sorted((f for f in figures if f.site_id not in own), key=_numbering)


def limit_curves(pooled: float, largest: int) -> list[charts.FunnelLimit]:
    """The control limits as curves over n from 1 to the largest site's n."""
    ns = sorted({round(largest ** (i / LIMIT_POINTS)) for i in range(LIMIT_POINTS + 1)})
    return [charts.FunnelLimit(label, [(n, *control_limits(pooled, n, z)) for n in ns]) for label, z in LIMITS]


def benchmark_context(*, filters: outcomes.OutcomesFilters, user: User) -> dict[str, Any]:
    """The page's figures for `user`: every site's row (theirs first), the funnel plot, and the durability of their
    sites against the network's."""
    figures = site_figures(filters=filters)
    own = dict(sites_of(user).values_list("id", "name"))
    labels = site_labels(figures, own=own)
    pooled = pooled_rate(figures)
    rows = []
    for f in _in_order(figures, own=own):
        position = against_network(f, pooled) if pooled is not None else ""
        rows.append(
            {
                "label": labels[f.site_id],
                "own": f.site_id in own,
                "blocks": f.blocks,
                "positive": f.positive,
                "treated": f.treated,
                "evaluable": f.evaluable,
                "responders": f.responders,
                "rate": percent(f.rate),
                "ci": interval(f.ci),
                "against": f"{position} the network" if position else "within the limits" if f.evaluable else "—",
                "outside": bool(position),
            }
        )
    context: dict[str, Any] = {
        "filters": filters,
        "rows": rows,
        "pooled": percent(pooled),
        "pooled_counts": f"{sum(f.responders for f in figures)}/{sum(f.evaluable for f in figures)}",
        "own_names": sorted(own.values()),
        "responder_percent": setting_percent(filters.responder_percent),
    }
    plotted = [f for f in figures if f.evaluable]
    if pooled is not None and plotted:
        context["funnel_chart"] = charts.funnel_plot(
            [
                charts.FunnelPoint(labels[f.site_id], f.evaluable, f.responders / f.evaluable, own=f.site_id in own)
                for f in plotted
            ],
            centre=pooled,
            limits=limit_curves(pooled, max(f.evaluable for f in plotted)),
            title="3-month response rate by site against the network (funnel plot)",
            description=(
                f"Each site's response rate against its number of treatments evaluable at 3 months; the network's "
                f"rate, {percent(pooled)}, as a line, with its 95% and 99.8% control limits. The table below gives "
                "the same figures."
            ),
            x_label="treatments",
        )
    context.update(_durability_context(filters=filters, own=own))
    return context


def _durability_context(*, filters: outcomes.OutcomesFilters, own: dict[int, str]) -> dict[str, Any]:
    """The Kaplan-Meier estimate of the reader's sites (none: not a member of any) and of the network, the
    engine's for the same filters, on one chart with their medians."""
    network = durability_get(filters=replace(filters, site_ids=None))
    estimates = []
    if own:
        mine = durability_get(filters=replace(filters, site_ids=tuple(sorted(own))))
        estimates.append((", ".join(sorted(own.values())), mine))
    estimates.append(("Network (every site)", network))
    durability_rows = [
        {
            "label": label,
            "treatments": estimate.treatments,
            "events": estimate.events,
            "median": _median_in_words(estimate.median_days),
        }
        for label, estimate in estimates
    ]
    chart = charts.step_chart_series(
        [charts.Series(label, _curve(estimate)) for label, estimate in estimates],
        title="Durability of response: my sites against the network (Kaplan–Meier)",
        description="Share of treatments still responding by days since the treatment: "
        + "; ".join(f"{r['label']}, median {r['median']}" for r in durability_rows)
        + ".",
    )
    return {"durability_rows": durability_rows, "durability_chart": chart}


@role_required(OUTCOMES)
@audit_access(Action.VIEW, Category.REPORT, object_type="site_benchmark")
def benchmark(request):
    """Sites compared: in a network only (with one site there is nothing to compare it with)."""
    request.audit.subject(None, filters=request.GET.urlencode()[:500])
    if not site_network():
        return render(request, "reports/benchmark.html", {"single_site": True})
    form = BenchmarkFilterForm(request.GET, user=request.user)
    context = {"form": form}
    # Bad filters show no figures: figures without the filter asked for would be read as its figures.
    if form.is_valid():
        # Every site's figures (the page names only the reader's sites and lists no patient): unscoped.
        with replica_reads(), unscoped():
            context.update(benchmark_context(filters=form.filters(), user=request.user))
    return render(request, "reports/benchmark.html", context)
