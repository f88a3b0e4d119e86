"""The outcomes engine: the one place every figure of the report, the dashboards and their exports comes from.

    report = outcomes_compute(as_of=date(2026, 6, 30))          # everything, overall and by nerve and physician
    report.to_json()                                             # data-exchange.md's shape
    ablation_ids_for(filters=report.filters, time_point="3m", measure="responders", nerve_id=...)   # drill-down

Counts are aggregated in PostgreSQL (apps/reports/sql.py); Python only turns counts into rates, Wilson intervals,
the Kaplan-Meier product over distinct days and the quartiles of pain scores counted by value. Rates are
full-precision floats, None where the denominator is 0; rounding (half-up, one decimal) is for display only:
`apps.clinic.rules.display_percent`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.adverse_events.models import RELATED
from apps.clinic.models import Nerve, TimePoint
from apps.clinic.replica import read_connection
from apps.clinic.selectors import PROTOCOL_PK, protocol_get, protocols_for
from apps.cryoablations.models import Kind
from apps.instruments.selectors import instruments_with_versions

from . import sql

Z_95 = 1.959963984540054  # the 0.975 quantile of the standard normal distribution
FUNNEL_TIME_POINT = "3m"
BANDS = ["50-69", "70-79", "80-100"]
OVERALL = "overall"
REPORT_VERSION = 2
MEDIAN_TOLERANCE = 1e-9
THRESHOLD_OUT_OF_RANGE = "The threshold is a percentage above 0 and at most 100."


def threshold_in_range(threshold: Decimal) -> bool:
    """A positive-block threshold a report may be run with (the command's --threshold, the API's threshold)."""
    return 0 < threshold <= 100


@dataclass(frozen=True)
class OutcomesFilters:
    """What a report is about. date_from/date_to select blocks (funnel) and treatments (the rest) by their date;
    kind (a Kind code, or None for every kind) keeps the treatments of that kind (the funnel's blocks are kept, their
    later stages follow that kind's treatments)."""

    as_of: date
    threshold: Decimal
    date_from: date | None = None
    date_to: date | None = None
    physician_id: int | None = None
    nerve_id: int | None = None
    side: str | None = None
    kind: str | None = None
    # The sites whose patients are counted (their ids; None: every patient's, as with one site): README, "Sites".
    site_ids: tuple[int, ...] | None = None
    # The protocol's responder percent, read once by outcomes_filters (None: read again).
    responder: Decimal | None = None
    # The registry's threshold, read once by outcomes_filters (None: not known): the counts by month hold the funnel's
    # rows at that threshold (sql.FUNNEL_BY_MONTH).
    registry_threshold: Decimal | None = None

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "tz": settings.TIME_ZONE,
            "threshold": self.threshold,
            "responder": self.responder_percent,
            "as_of": self.as_of,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "physician_id": self.physician_id,
            "nerve_id": self.nerve_id,
            "side": self.side,
            "kind": self.kind,
            "site_ids": list(self.site_ids) if self.site_ids is not None else None,
            "related": [str(r) for r in RELATED],
            "funnel_time_point": FUNNEL_TIME_POINT,
            "funnel_by_month": self.date_from is None
            and self.date_to is None
            and self.registry_threshold is not None
            and self.threshold == self.registry_threshold,
            **extra,
        }

    @property
    def by_month(self) -> bool:
        """The figures may be added up from the counts by month (apps.reports.models.FollowUpCell and the others,
        sql.PAGE_CELLS), which have neither physician nor side."""
        return self.physician_id is None and self.side is None

    @property
    def responder_percent(self) -> Decimal:
        """The responder reduction the figures are computed with (the protocol's)."""
        return self.responder if self.responder is not None else protocol_get().responder_percent


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float | None, float | None]:
    """Wilson score interval (Wilson 1927); (None, None) when n is 0."""
    if not n:
        return None, None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Group:
    """overall, kind:<code>, nerve:<code> or physician:<username>; the ids say which rows it holds (drill-down)."""

    key: str
    nerve_id: int | None = None
    physician_id: int | None = None
    kind: str | None = None


@dataclass
class FunnelRow:
    group: str
    blocks: int = 0
    evaluable: int = 0
    positive: int = 0
    treated: int = 0
    evaluable_3m: int = 0
    responders_3m: int = 0

    @property
    def rate_3m(self) -> float | None:
        return rate(self.responders_3m, self.evaluable_3m)


@dataclass
class ResponseRow:
    group: str
    time_point: str
    treatments: int = 0
    closed: int = 0
    superseded: int = 0
    evaluable: int = 0
    responders: int = 0
    responders_30: int = 0
    pgic_improved: int = 0

    @property
    def rate(self) -> float | None:
        """Completers: responders / evaluable."""
        return rate(self.responders, self.evaluable)

    @property
    def itt_rate(self) -> float | None:
        """Intention to treat: responders / closed (a missing survey counts as non-response)."""
        return rate(self.responders, self.closed)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.responders, self.evaluable)

    @property
    def itt_ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.responders, self.closed)

    @property
    def rate_30(self) -> float | None:
        return rate(self.responders_30, self.evaluable)

    @property
    def pgic_rate(self) -> float | None:
        return rate(self.pgic_improved, self.evaluable)


@dataclass
class BandRow:
    band: str
    evaluable_3m: int = 0
    responders_3m: int = 0

    @property
    def rate(self) -> float | None:
        return rate(self.responders_3m, self.evaluable_3m)


@dataclass
class KaplanMeierStep:
    day: int
    at_risk: int
    events: int
    censored: int
    survival: float
    ci_low: float | None
    ci_high: float | None


@dataclass
class Durability:
    """A Kaplan-Meier estimate: of time to loss of response (durability) or of time to repeat treatment."""

    treatments: int = 0
    events: int = 0
    median_days: int | None = None
    median_ci: tuple[int | None, int | None] = (None, None)
    curve: list[KaplanMeierStep] = field(default_factory=list)

    def at_day(self, day: int) -> tuple[KaplanMeierStep | None, int] | None:
        """The estimate on `day`: the last step on or before it (None before the first) and the events up to it;
        None when nothing was followed that long (the estimate is undefined past its last observation)."""
        if not self.curve or self.curve[-1].day < day:
            return None
        before = [s for s in self.curve if s.day <= day]
        return (before[-1] if before else None), sum(s.events for s in before)


@dataclass
class AdverseEventRow:
    """Treatments in range, and those with any adverse event, a related one, a serious one recorded on them."""

    group: str
    treatments: int = 0
    with_event: int = 0
    with_related: int = 0
    with_serious: int = 0

    @property
    def rate_related(self) -> float | None:
        return rate(self.with_related, self.treatments)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.with_related, self.treatments)


@dataclass
class OpioidRow:
    """Treatments whose patient took opioids on the treatment day (baseline MME above 0) at one time point: those
    evaluable (closed, not superseded), with the MME on the target day at least halved, or 0."""

    group: str
    time_point: str
    on_opioids: int = 0
    evaluable: int = 0
    reduced_50: int = 0
    discontinued: int = 0
    median_change: float | None = None

    @property
    def rate(self) -> float | None:
        return rate(self.reduced_50, self.evaluable)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.reduced_50, self.evaluable)

    @property
    def discontinued_rate(self) -> float | None:
        return rate(self.discontinued, self.evaluable)

    @property
    def discontinued_ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.discontinued, self.evaluable)


@dataclass
class InstrumentRow:
    """One instrument at one time point: the treatments evaluable (closed, not superseded, with a baseline and a
    counted answer), the median change (follow-up minus baseline), the responders by the instrument's own rule and,
    for a screening instrument (PHQ-2, GAD-2), the positive screens at baseline and now among the evaluable."""

    group: str
    instrument: str
    time_point: str
    evaluable: int = 0
    median_change: float | None = None
    responders: int = 0
    positive_baseline: int | None = None
    positive_now: int | None = None

    @property
    def rate(self) -> float | None:
        return rate(self.responders, self.evaluable)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.responders, self.evaluable)

    @property
    def positive_baseline_ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.positive_baseline or 0, self.evaluable)

    @property
    def positive_now_ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.positive_now or 0, self.evaluable)

    @property
    def positive_baseline_rate(self) -> float | None:
        return rate(self.positive_baseline, self.evaluable) if self.positive_baseline is not None else None

    @property
    def positive_now_rate(self) -> float | None:
        return rate(self.positive_now, self.evaluable) if self.positive_now is not None else None


@dataclass
class OutcomesReport:
    filters: OutcomesFilters
    groups: list[Group]
    funnel: list[FunnelRow]
    response: list[ResponseRow]
    threshold_bands: list[BandRow]
    durability: Durability
    time_points: list[str]
    # By group (overall first, as `groups`): durability, time to repeat treatment, adverse events.
    durability_groups: dict[str, Durability] = field(default_factory=dict)
    repeat: dict[str, Durability] = field(default_factory=dict)
    adverse_events: list[AdverseEventRow] = field(default_factory=list)
    opioids: list[OpioidRow] = field(default_factory=list)
    instruments: list[InstrumentRow] = field(default_factory=list)
    # {code: name} of the instruments in `instruments`, in their order.
    instrument_names: dict[str, str] = field(default_factory=dict)
    # For the dashboards' labels: {code: label} of the protocol's time points, {"nerve:<code>": (id, name)}.
    time_point_labels: dict[str, str] = field(default_factory=dict)
    time_point_days: dict[str, int] = field(default_factory=dict)
    nerve_names: dict[str, tuple[int, str]] = field(default_factory=dict)
    # False for the dashboard page's figures (dashboard_compute(page=True)): durability overall only, no time to repeat
    # or adverse events; such a report has no JSON.
    complete: bool = True

    def group(self, key: str) -> Group:
        return next(g for g in self.groups if g.key == key)

    def response_row(self, group: str, time_point: str) -> ResponseRow:
        return next(r for r in self.response if r.group == group and r.time_point == time_point)

    def to_json(self) -> dict[str, Any]:
        """data-exchange.md's report, version 2, as a dict ready for json.dumps."""
        if not self.complete:
            raise ValueError("The dashboard page's figures are not the whole report: compute it with page=False.")
        threshold = self.filters.threshold
        return {
            "version": REPORT_VERSION,
            "as_of": self.filters.as_of.isoformat(),
            "threshold_percent": int(threshold) if threshold == int(threshold) else float(threshold),
            "funnel": [asdict(row) for row in self.funnel],
            "response": [
                {
                    **asdict(row),
                    "rate": row.rate,
                    "itt_rate": row.itt_rate,
                    "ci_low": row.ci[0],
                    "ci_high": row.ci[1],
                }
                for row in self.response
            ],
            "threshold_bands": [{**asdict(row), "rate": row.rate} for row in self.threshold_bands],
            "durability": [
                {"group": key, "treatments": d.treatments, "events": d.events, "median_days": d.median_days}
                for key, d in self.durability_groups.items()
            ],
            "repeat": [
                {"group": key, "treatments": d.treatments, "repeated": d.events, "median_days": d.median_days}
                for key, d in self.repeat.items()
            ],
            "adverse_events": [
                {
                    **asdict(row),
                    "rate_related": row.rate_related,
                    "ci_low": row.ci[0],
                    "ci_high": row.ci[1],
                }
                for row in self.adverse_events
            ],
            "instruments": [
                {
                    "group": row.group,
                    "instrument": row.instrument,
                    "time_point": row.time_point,
                    "evaluable": row.evaluable,
                    "median_change": row.median_change,
                    "responders": row.responders,
                    "rate": row.rate,
                    "positive_baseline": row.positive_baseline,
                    "positive_now": row.positive_now,
                }
                for row in self.instruments
            ],
            "opioids": [
                {
                    "group": row.group,
                    "time_point": row.time_point,
                    "on_opioids": row.on_opioids,
                    "evaluable": row.evaluable,
                    "reduced_50": row.reduced_50,
                    "discontinued": row.discontinued,
                    "rate": row.rate,
                    "median_change": row.median_change,
                }
                for row in self.opioids
            ],
        }


# Sent with each statement, in the same round trip (one query as Django counts them). For these statements only: JIT
# off (aggregates over the whole registry look costly enough to the planner to be compiled, and compiling them,
# ~0.5 s each, takes longer than it saves) and room for their hash aggregates in memory (the 4 MB default spills large
# ones to disk). Parallel workers (the server's number): the sections' scans (one table each, a plain GROUP BY) split
# across them, 0.8-0.9 s -> 0.6-0.7 s for the whole clinic on 2 cores, with a parallel_tuple_cost that does not price
# the workers' few partial rows out of it. LOCAL: a string of several statements runs as one transaction, so the
# settings end with it (or, inside a transaction, with that transaction).
STATEMENT_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL parallel_tuple_cost = 0.01; "


def _fetch(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with read_connection().cursor() as cursor:
        cursor.execute(STATEMENT_SETTINGS + query, params)
        while cursor.description is None and cursor.nextset():
            pass  # past the results of the SET statements
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def outcomes_filters(
    *,
    as_of: date | None = None,
    threshold: Decimal | int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
    kind: str | None = None,
    site_ids: tuple[int, ...] | None = None,
) -> OutcomesFilters:
    """Filters with the defaults of data-exchange.md: as_of today (the clinic's), threshold the protocol's: that of
    the one site the figures count when they count one (its own, SiteProtocol, or else the registry's), else the
    registry's. The responder reduction is the registry's for every site."""
    site_id = site_ids[0] if site_ids is not None and len(site_ids) == 1 else None
    protocols = protocols_for([site_id, None])
    protocol = protocols[site_id]
    return OutcomesFilters(
        as_of=as_of or timezone.localdate(),
        threshold=Decimal(threshold) if threshold is not None else protocol.block_threshold_percent,
        responder=protocol.responder_percent,
        date_from=date_from,
        date_to=date_to,
        physician_id=physician_id,
        nerve_id=nerve_id,
        side=side,
        kind=kind,
        site_ids=site_ids,
        registry_threshold=protocols[None].block_threshold_percent,
    )


class _GroupNamer:
    def __init__(self) -> None:
        # One query: id, code and name in catalog order (the names are the dashboards' labels).
        self.nerve_rows = list(Nerve.objects.values_list("id", "code", "name"))
        self.nerves = {pk: code for pk, code, _ in self.nerve_rows}
        self.nerve_order = {pk: i for i, (pk, _, _) in enumerate(self.nerve_rows)}
        self.users: dict[int, str] = {}
        self.groups: dict[str, Group] = {OVERALL: Group(OVERALL)}
        self.known: dict[tuple[Any, ...], str] = {}

    def key(self, row: dict[str, Any]) -> str:
        """The group of a row of a grouped section (the Kaplan-Meier sections send thousands: each group is named
        once)."""
        columns = (row["g_kind"], row["g_nerve"], row["g_physician"], row["kind"], row["nerve_id"], row["physician_id"])
        key = self.known.get(columns)
        if key is None:
            key = self.known[columns] = self._name(row)
        return key

    def _name(self, row: dict[str, Any]) -> str:
        if row["g_kind"] == 0:
            key = f"kind:{row['kind']}"
            self.groups.setdefault(key, Group(key, kind=row["kind"]))
            return key
        if row["g_nerve"] == 0:
            key = f"nerve:{self.nerves[row['nerve_id']]}"
            self.groups.setdefault(key, Group(key, nerve_id=row["nerve_id"]))
            return key
        if row["g_physician"] == 0:
            username = self.users.get(row["physician_id"])
            if username is None:
                username = User.objects.values_list("username", flat=True).get(pk=row["physician_id"])
                self.users[row["physician_id"]] = username
            key = f"physician:{username}"
            self.groups.setdefault(key, Group(key, physician_id=row["physician_id"]))
            return key
        return OVERALL

    def ordered(self) -> list[Group]:
        """Overall first, then kinds in their catalog order, nerves in catalog order, physicians by username."""
        kinds = {code: i for i, code in enumerate(Kind.values)}

        def sort_key(group: Group) -> tuple:
            if group.key == OVERALL:
                return (0, 0, "")
            if group.kind is not None:
                return (1, kinds.get(group.kind, len(kinds)), group.key)
            if group.nerve_id is not None:
                return (2, self.nerve_order.get(group.nerve_id, 0), "")
            return (3, 0, group.key)

        return sorted(self.groups.values(), key=sort_key)


def _warm_users(namer: _GroupNamer, rows: list[dict[str, Any]]) -> None:
    ids = {r["physician_id"] for r in rows if r.get("g_physician") == 0}
    namer.users.update(User.objects.filter(pk__in=ids).values_list("id", "username"))


def outcomes_compute(
    *,
    as_of: date | None = None,
    threshold: Decimal | int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
    kind: str | None = None,
    site_ids: tuple[int, ...] | None = None,
) -> OutcomesReport:
    """Every figure of outcome-definitions.md for the blocks and treatments the filters select."""
    filters = outcomes_filters(
        as_of=as_of,
        threshold=threshold,
        date_from=date_from,
        date_to=date_to,
        physician_id=physician_id,
        nerve_id=nerve_id,
        side=side,
        kind=kind,
        site_ids=site_ids,
    )
    return outcomes_compute_for(filters=filters)


def outcomes_compute_for(*, filters: OutcomesFilters) -> OutcomesReport:
    """outcomes_compute for filters already made by outcomes_filters."""
    report, _ = _compute(filters=filters, pain=False)
    return report


def kinds_compare(*, filters: OutcomesFilters) -> OutcomesReport:
    """The whole report (kind groups included; the filters' kind is ignored: every kind is compared) with the
    curves of the kinds' durability and time to repeat as well as the overall ones (_durability for those groups
    instead of _median_only: the same steps and median, with the curve): the Compare treatments page."""
    report, _ = _compute(filters=replace(filters, kind=None), pain=False, kind_curves=True)
    return report


def _compute(
    *, filters: OutcomesFilters, pain: bool, page: bool = False, kind_curves: bool = False
) -> tuple[OutcomesReport, list[dict[str, Any]] | None]:
    """The report and, when asked, the pain rows: every figure from one statement (sql.FIGURES); `page`: the
    dashboard page's figures only (with pain; see sql.FIGURES_OF_THE_PAGE); `kind_curves`: the kind groups'
    Kaplan-Meier estimates with their curves (kinds_compare)."""
    params = filters.params()
    time_point_rows = list(TimePoint.objects.filter(protocol_id=PROTOCOL_PK).values_list("code", "label", "target_day"))
    time_points = [code for code, _, _ in time_point_rows]

    # The page's overall figures, counted by month where the filters allow (sql.PAGE_CELLS); the others, by group from
    # the facts.
    if page and filters.by_month:
        statement, instruments = sql.FIGURES_OF_THE_PAGE_BY_MONTH, sql.PAGE_INSTRUMENTS_BY_MONTH
        opioids = sql.PAGE_OPIOIDS_BY_MONTH
    elif page:
        statement, instruments, opioids = (
            sql.FIGURES_OF_THE_PAGE,
            sql.PAGE_INSTRUMENTS_SECTION,
            sql.PAGE_OPIOIDS_SECTION,
        )
    else:
        statement = sql.FIGURES_WITH_PAIN if pain else sql.FIGURES_WITHOUT_PAIN
        instruments, opioids = sql.INSTRUMENTS_SECTION, sql.OPIOIDS_SECTION
    figures = _fetch(statement, params)[0]
    figures["repeat"] = figures["repeat"] or []
    figures["adverse_events"] = figures["adverse_events"] or []
    # Opioids and instruments: statements of their own, the big one's shape left alone.
    opioid_rows = _fetch(opioids, params)
    instrument_rows = _fetch(instruments, params)
    funnel_rows, response_rows = figures["funnel"], figures["response"]
    namer = _GroupNamer()
    _warm_users(
        namer,
        funnel_rows
        + response_rows
        + figures["durability"]
        + figures["repeat"]
        + figures["adverse_events"]
        + opioid_rows
        + instrument_rows,
    )

    funnel: dict[str, FunnelRow] = {}
    for row in funnel_rows:
        key = namer.key(row)
        funnel[key] = FunnelRow(
            group=key, **{k: int(row[k]) for k in ("blocks", "evaluable", "positive")}, treated=int(row["ablated"]),
            evaluable_3m=int(row["evaluable_3m"]), responders_3m=int(row["responders_3m"]),
        )  # fmt: skip
    response: dict[tuple[str, str], ResponseRow] = {}
    for row in response_rows:
        key = namer.key(row)
        counts = {
            k: int(row[k]) for k in ("treatments", "closed", "superseded", "evaluable", "responders", "responders_30")
        }
        response[(key, row["time_point"])] = ResponseRow(
            group=key, time_point=row["time_point"], pgic_improved=int(row["pgic_improved"]), **counts
        )

    durability_days = _by_group(namer, figures["durability"])
    durability_overall = _durability(durability_days.get(OVERALL, []))
    repeat_days = _by_group(namer, figures["repeat"])
    adverse: dict[str, AdverseEventRow] = {}
    for row in figures["adverse_events"]:
        key = namer.key(row)
        adverse[key] = AdverseEventRow(
            group=key, **{k: int(row[k]) for k in ("treatments", "with_event", "with_related", "with_serious")}
        )

    opioids = {
        (key, tp): OpioidRow(group=key, time_point=tp, median_change=median, **totals)
        for (key, tp), (totals, median) in _by_change(
            opioid_rows, lambda row: (namer.key(row), row["time_point"]), OPIOID_COUNTS
        ).items()
    }

    # The instruments with a definition, in loading order, each at the time points it is asked at; a screening one
    # (a positive-screen cut-off: PHQ-2, GAD-2) counts its positive screens.
    asked = instruments_with_versions()
    screens = {i.code: v.positive_screen is not None for i, v in asked}
    codes = {i.pk: i.code for i, _ in asked}
    instruments = {
        (key, code, tp): InstrumentRow(
            group=key,
            instrument=code,
            time_point=tp,
            evaluable=totals["evaluable"],
            median_change=median,
            responders=totals["responders"],
            positive_baseline=totals["positive_baseline"] if screens[code] else None,
            positive_now=totals["positive_now"] if screens[code] else None,
        )
        for (key, code, tp), (totals, median) in _by_change(
            instrument_rows,
            lambda row: (namer.key(row), codes[row["instrument_id"]], row["time_point"]),
            INSTRUMENT_COUNTS,
        ).items()
    }

    # Every group with at least one block or treatment appears in every section, with zeros where it has none; the
    # funnel has no kind groups (a block is before any treatment).
    groups = namer.ordered()
    known_points = time_points + sorted({tp for _, tp in response} - set(time_points))
    report_funnel = [funnel.get(g.key) or FunnelRow(group=g.key) for g in groups if g.kind is None]
    report_response = [
        response.get((g.key, tp)) or ResponseRow(group=g.key, time_point=tp) for g in groups for tp in known_points
    ]
    bands = {BANDS[row["band"] - 1]: row for row in figures["bands"]}
    threshold_bands = [
        BandRow(band=b, evaluable_3m=int(bands.get(b, {}).get("evaluable_3m", 0)),
                responders_3m=int(bands.get(b, {}).get("responders_3m", 0)))
        for b in BANDS
    ]  # fmt: skip
    report = OutcomesReport(
        filters=filters,
        time_point_labels={code: label for code, label, _ in time_point_rows},
        time_point_days={code: day for code, _, day in time_point_rows},
        nerve_names={f"nerve:{code}": (pk, name) for pk, code, name in namer.nerve_rows},
        groups=groups,
        funnel=report_funnel,
        response=report_response,
        threshold_bands=threshold_bands,
        durability=durability_overall,
        time_points=known_points,
        # The curves of the overall estimates (the dashboard's); the groups' counts and medians only.
        durability_groups={
            g.key: durability_overall
            if g.key == OVERALL
            else _estimate(durability_days.get(g.key, []), curve=kind_curves and g.kind is not None)
            for g in groups
        },
        repeat={
            g.key: _estimate(repeat_days.get(g.key, []), curve=g.key == OVERALL or (kind_curves and g.kind is not None))
            for g in groups
        },
        adverse_events=[adverse.get(g.key) or AdverseEventRow(group=g.key) for g in groups],
        opioids=[
            opioids.get((g.key, tp)) or OpioidRow(group=g.key, time_point=tp) for g in groups for tp in known_points
        ],
        instruments=[
            instruments.get((g.key, i.code, tp))
            or InstrumentRow(
                group=g.key,
                instrument=i.code,
                time_point=tp,
                positive_baseline=0 if screens[i.code] else None,
                positive_now=0 if screens[i.code] else None,
            )
            for g in groups
            for i, _ in asked
            for tp in known_points
            if tp in i.time_points
        ],
        instrument_names={i.code: i.name for i, _ in asked},
        complete=not page,
    )
    return report, figures["pain"]


def _by_change[K](
    rows: Iterable[dict[str, Any]], cell_of: Callable[[dict[str, Any]], K], counts: tuple[str, ...]
) -> dict[K, tuple[dict[str, int], float | None]]:
    """A section counted by group and change (sql._cells_by_group: the instruments', the opioids'): each cell's
    counts added up and the median of its changes (rows with a change: the evaluable ones, counted by `evaluable`)."""
    totals: dict[K, dict[str, int]] = {}
    changes: dict[K, list[tuple[float, int]]] = {}
    for row in rows:
        cell = cell_of(row)
        total = totals.setdefault(cell, dict.fromkeys(counts, 0))
        for name in counts:
            total[name] += int(row[name])
        if row["change"] is not None:
            changes.setdefault(cell, []).append((row["change"], int(row["evaluable"])))
    return {cell: (total, percentile_cont(sorted(changes.get(cell, [])), 0.5)) for cell, total in totals.items()}


def _by_group(namer: _GroupNamer, rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A Kaplan-Meier section's rows (group, day, events, censored) by group, each in day order."""
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(namer.key(row), []).append(row)
    return {key: sorted(rows, key=lambda d: d["day"]) for key, rows in days.items()}


def _estimate(days: list[dict[str, Any]], *, curve: bool) -> Durability:
    """A Kaplan-Meier estimate with its curve and band (_durability) or its counts and median only (_median_only)."""
    return _durability(days) if curve else _median_only(days)


def _median_only(days: list[dict[str, Any]]) -> Durability:
    """A Kaplan-Meier estimate's counts and median, without its curve and band (a group's row of the report): the
    same steps (_km_steps) and the same median rule (_reaches_median) as _durability."""
    result = _counts(days)
    for day, _, events, _, survival in _km_steps(days):
        if events and _reaches_median(survival):
            result.median_days = day
            break
    return result


def _counts(days: list[dict[str, Any]]) -> Durability:
    """An estimate's counts, before its median and curve: those followed and their events."""
    return Durability(
        treatments=sum(int(d["events"]) + int(d["censored"]) for d in days),
        events=sum(int(d["events"]) for d in days),
    )


def _km_steps(days: list[dict[str, Any]]) -> Iterator[tuple[int, int, int, int, float]]:
    """The Kaplan-Meier product over the events and censored by day (in day order): each day with the number at risk
    that morning, its events and censored, and the estimate after it."""
    at_risk = sum(int(d["events"]) + int(d["censored"]) for d in days)
    survival = 1.0
    for d in days:
        events, censored = int(d["events"]), int(d["censored"])
        if events:
            survival *= 1 - events / at_risk
        yield int(d["day"]), at_risk, events, censored, survival
        at_risk -= events + censored


def _reaches_median(survival: float) -> bool:
    """An estimate of exactly 0.5 reaches the median: compared with a tolerance of 1e-9 ("Version 2: exact readings"
    allows it), as floats drift by far less over any number of steps, and a fraction's denominator grows with every
    step (measured: seconds for a clinic's time to repeat)."""
    return survival <= 0.5 + MEDIAN_TOLERANCE


def _durability(days: list[dict[str, Any]]) -> Durability:
    """Kaplan-Meier estimate of time to loss of response from the events and censored ablations by day (in day
    order), with Greenwood's log-log 95% band and the median's interval read off it (Brookmeyer-Crowley style: from
    the first day the band's lower limit reaches 0.5 to the first day its upper limit does)."""
    result = _counts(days)
    greenwood = 0.0
    median = low = high = None
    for day, at_risk, events, censored, survival in _km_steps(days):
        if events and at_risk > events:
            greenwood += events / (at_risk * (at_risk - events))
        ci_low = ci_high = None
        if not events and result.curve:
            # A day of censoring only: the estimate and its band are the previous day's.
            previous = result.curve[-1]
            result.curve.append(KaplanMeierStep(day, at_risk, 0, censored, survival, previous.ci_low, previous.ci_high))
            continue
        if 0 < survival < 1 and greenwood:
            log_s = math.log(survival)
            spread = Z_95 * math.sqrt(greenwood) / abs(log_s)
            ci_low, ci_high = survival ** math.exp(spread), survival ** math.exp(-spread)
        elif survival == 0:
            ci_low = ci_high = 0.0
        elif survival == 1:
            ci_low = ci_high = 1.0
        result.curve.append(KaplanMeierStep(day, at_risk, events, censored, survival, ci_low, ci_high))
        if events:
            if median is None and _reaches_median(survival):
                median = day
            # The band's lower limit reaches 0.5 first (the interval's low end), its upper limit later (high end).
            if low is None and ci_low is not None and ci_low <= 0.5:
                low = day
            if high is None and ci_high is not None and ci_high <= 0.5:
                high = day
    result.median_days = median
    result.median_ci = (low, high)
    return result


def ablation_ids_for(
    *, filters: OutcomesFilters, time_point: str, measure: str, group: Group | None = None
) -> list[int]:
    """Drill-down: the ids of the ablations behind one response figure (e.g. the 3-month responders of a nerve's
    ablations). `measure` is a key of sql.RESPONSE_MEASURES; the group narrows the filters to its nerve or
    physician."""
    filters = _narrow(filters, group)
    query = sql.RESPONSE_DRILL.format(measure=sql.RESPONSE_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params(time_point=time_point))]


def opioid_ablation_ids_for(
    *, filters: OutcomesFilters, time_point: str, measure: str, group: Group | None = None
) -> list[int]:
    """Drill-down: the ids of the treatments behind one opioid figure (a key of sql.OPIOID_MEASURES)."""
    filters = _narrow(filters, group)
    query = sql.OPIOIDS_DRILL.format(measure=sql.OPIOID_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params(time_point=time_point))]


def instrument_ablation_ids_for(
    *, filters: OutcomesFilters, instrument: str, time_point: str, measure: str, group: Group | None = None
) -> list[int]:
    """Drill-down: the ids of the treatments behind one instrument figure (a key of sql.INSTRUMENT_MEASURES)."""
    filters = _narrow(filters, group)
    query = sql.INSTRUMENTS_DRILL.format(measure=sql.INSTRUMENT_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params(time_point=time_point, instrument=instrument))]


def block_ids_for(*, filters: OutcomesFilters, measure: str, group: Group | None = None) -> list[int]:
    """Drill-down: the ids of the blocks behind one funnel figure (blocks, evaluable, positive, ablated)."""
    filters = _narrow(filters, group)
    query = sql.FUNNEL_DRILL.format(measure=sql.FUNNEL_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params())]


def _narrow(filters: OutcomesFilters, group: Group | None) -> OutcomesFilters:
    if group is None or group.key == OVERALL:
        return filters
    if group.kind is not None:
        return replace(filters, kind=group.kind)
    if group.nerve_id is not None:
        return replace(filters, nerve_id=group.nerve_id)
    return replace(filters, physician_id=group.physician_id)


def response_rate_3m_overall(*, filters: OutcomesFilters) -> ResponseRow:
    """The overall 3-month completers' figure alone (what the dashboard's headline and the benchmark use)."""
    rows = _fetch(sql.RESPONSE_OVERALL_ONE_TIME_POINT, filters.params(time_point=FUNNEL_TIME_POINT))
    if not rows:
        return ResponseRow(group=OVERALL, time_point=FUNNEL_TIME_POINT)
    row = rows[0]
    return ResponseRow(
        group=OVERALL,
        time_point=FUNNEL_TIME_POINT,
        **{
            k: int(row[k])
            for k in ("treatments", "closed", "superseded", "evaluable", "responders", "responders_30", "pgic_improved")
        },
    )


# ---------------------------------------------------------------------------------------------------------------
# The dashboards: pain over time, survey completion, and the drill-downs of every figure they show


@dataclass
class PainRow:
    """Average pain (NRS) at one time point ("baseline": the ablations' own baseline), median and quartiles, and
    its percent change from baseline (negative: less pain). `answers` counts the counted surveys of closed time
    points (for baseline: the ablations)."""

    time_point: str
    answers: int = 0
    pain_median: float | None = None
    pain_q1: float | None = None
    pain_q3: float | None = None
    change_median: float | None = None
    change_q1: float | None = None
    change_q3: float | None = None


@dataclass
class CompletionRow:
    """Survey completion at one time point: closed time points with a counted survey / closed time points."""

    time_point: str
    closed: int = 0
    completed: int = 0

    @property
    def rate(self) -> float | None:
        return rate(self.completed, self.closed)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return wilson_interval(self.completed, self.closed)


@dataclass
class Dashboard:
    report: OutcomesReport
    pain: list[PainRow]
    completion: list[CompletionRow]

    @property
    def filters(self) -> OutcomesFilters:
        return self.report.filters

    def overall_response(self) -> list[ResponseRow]:
        return [r for r in self.report.response if r.group == OVERALL]


PAIN_BASELINE = "baseline"


INSTRUMENT_COUNTS = ("evaluable", "responders", "positive_baseline", "positive_now")
OPIOID_COUNTS = ("on_opioids", "evaluable", "reduced_50", "discontinued")


def percentile_cont(distribution: list[tuple[float, int]], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont(fraction) of the values of `distribution` (value, count), sorted by value:
    the value at position fraction x (n - 1), interpolated linearly between its neighbours (lo + (hi - lo) x f, as
    PostgreSQL's float8 lerp computes it); None for no values."""
    n = sum(count for _, count in distribution)
    if not n:
        return None
    position = fraction * (n - 1)
    first, second = math.floor(position), math.ceil(position)

    def value_at(row: int) -> float:
        seen = 0
        for value, count in distribution:
            seen += count
            if row < seen:
                return value
        raise IndexError(row)

    low = value_at(first)
    if second == first:
        return low
    high = value_at(second)
    return low + (high - low) * (position - first)


def _pain(cells: list[dict[str, Any]], time_points: list[str]) -> list[PainRow]:
    """Median and interquartile range of average pain and of its percent change from baseline, by time point, from
    the counts of each (pain, baseline) pair (sql.PAIN_SECTION). The change is computed as the SQL it replaces
    did, (pain - baseline)::float * 100 / baseline, and is undefined at a baseline of 0 (left out)."""
    pains: dict[str, dict[float, int]] = {}
    changes: dict[str, dict[float, int]] = {}
    for cell in cells:
        tp, pain, baseline, n = cell["time_point"], cell["pain"], cell["baseline"], int(cell["n"])
        by_pain = pains.setdefault(tp, {})
        by_pain[float(pain)] = by_pain.get(float(pain), 0) + n
        if baseline:
            change = float(pain - baseline) * 100 / baseline
            by_change = changes.setdefault(tp, {})
            by_change[change] = by_change.get(change, 0) + n
    result = []
    for tp in [PAIN_BASELINE, *time_points]:
        if tp not in pains:
            result.append(PainRow(time_point=tp))
            continue
        pain = sorted(pains[tp].items())
        change = sorted(changes.get(tp, {}).items())
        result.append(
            PainRow(
                time_point=tp,
                answers=sum(pains[tp].values()),
                pain_median=percentile_cont(pain, 0.5),
                pain_q1=percentile_cont(pain, 0.25),
                pain_q3=percentile_cont(pain, 0.75),
                change_median=percentile_cont(change, 0.5),
                change_q1=percentile_cont(change, 0.25),
                change_q3=percentile_cont(change, 0.75),
            )
        )
    return result


def dashboard_compute(*, filters: OutcomesFilters, page: bool = False) -> Dashboard:
    """Every figure of a dashboard (and of a report run, which shows the same): the outcomes report for the
    filters, pain over time and survey completion. Completion needs no query of its own: its counts are the
    response section's closed time points and the pain section's counted surveys. `page`: only what the dashboard's
    page shows (durability overall, no time to repeat or adverse events), whose report has no JSON."""
    report, pain_rows = _compute(filters=filters, pain=True, page=page)
    pain = _pain(cast(list[dict[str, Any]], pain_rows), report.time_points)  # asked for: pain=True
    answers = {p.time_point: p.answers for p in pain}
    completion = [
        CompletionRow(time_point=r.time_point, closed=r.closed, completed=answers.get(r.time_point, 0))
        for r in report.response
        if r.group == OVERALL
    ]
    return Dashboard(report=report, pain=pain, completion=completion)


def durability_compute(*, filters: OutcomesFilters) -> Durability:
    """The overall durability (Kaplan-Meier, with its curve) alone, as the dashboard computes it (sql.
    DURABILITY_OVERALL_SECTION): Sites compared draws the reader's sites' against the network's."""
    days = sorted(_fetch(sql.DURABILITY_OVERALL_SECTION, filters.params()), key=lambda d: d["day"])
    return _durability(days)


def funnel_ablation_ids_for(*, filters: OutcomesFilters, measure: str) -> list[int]:
    """Drill-down: the ablations behind the funnel's evaluable_3m / responders_3m."""
    query = sql.FUNNEL_ABLATION_DRILL.format(measure=sql.FUNNEL_ABLATION_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params())]


def band_ablation_ids_for(*, filters: OutcomesFilters, band: str, measure: str) -> list[int]:
    """Drill-down: the ablations behind one threshold band's evaluable_3m / responders_3m."""
    if band not in BANDS:
        raise KeyError(band)
    query = sql.BAND_DRILL.format(measure=sql.BAND_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params(band=BANDS.index(band) + 1))]


def durability_ablation_ids_for(*, filters: OutcomesFilters, measure: str) -> list[int]:
    """Drill-down: the ablations of the Kaplan-Meier estimate (all, with an event, or censored)."""
    query = sql.DURABILITY_DRILL.format(measure=sql.DURABILITY_MEASURES[measure])
    return [row["id"] for row in _fetch(query, filters.params())]


def data_version() -> str:
    """Changes with every change to the data the figures come from (see sql.DATA_VERSION): a cache key part."""
    with read_connection().cursor() as cursor:
        cursor.execute(sql.DATA_VERSION)
        return cursor.fetchone()[0]
