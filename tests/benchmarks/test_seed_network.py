"""benchmarks/seed_network.py: its fast path (copies written with the triggers off, their derived rows built by the
database's functions, their history hash-chained in SQL) gives, on a tiny network, the rows the triggers give."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from apps.audit.db import verify_chains
from apps.demo.generator import seed_demo
from apps.reports.outcomes import outcomes_compute

ROOT = Path(__file__).resolve().parent.parent.parent
TODAY = date(2026, 6, 30)  # as tests/demo: the same data on any day the suite runs
DERIVED = [
    "blocks_blockpeakrelief",
    "reports_followupfact",
    "reports_durabilitystep",
    "reports_durabilitystate",
    "reports_treatmentfact",
    "reports_instrumentfact",
    "reports_opioidfact",
]
# Counted by month: appended by the triggers as signed rows, compacted (one row a cell) before they are compared.
CELLS = [
    "reports_followupcell",
    "reports_paincell",
    "reports_instrumentcell",
    "reports_opioidcell",
    "reports_blockcell",
]
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seed_network():
    spec = importlib.util.spec_from_file_location("painreg_seed_network", ROOT / "benchmarks" / "seed_network.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _network(seed_network, *, shift: bool) -> tuple[list[int], list[Any], Any]:
    """A base of 30 demo patients at the first of 3 sites, and the plan of its 2 copies, one at each other site."""
    seed_demo(patients=30, today=TODAY)
    site_ids = seed_network.network_sites(3)
    users = seed_network.site_users(site_ids)
    plan = seed_network.copies_plan(copies=3, site_ids=site_ids, users=users, shift=shift)
    return site_ids, plan, seed_network.base_measure()


def _rows(table: str, leave_out: tuple[str, ...] = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - the models' own tables
        kept = [i for i, column in enumerate(cursor.description) if column.name not in leave_out]
        return sorted((tuple(row[i] for i in kept) for row in cursor.fetchall()), key=repr)


def _snapshot(seed_network) -> dict[str, list[tuple]]:
    """The derived tables, and the clinical tables' history without the event's own id, place in the chain and hash
    (the triggers number the events from a sequence, in the order an INSERT ... SELECT gives its rows; the fast path
    after the table's last, in id order)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_cells_compact()")
    tables = {table: _rows(table) for table in DERIVED}
    tables |= {table: _rows(table, leave_out=("id",)) for table in CELLS}
    for model in seed_network.copied_models():
        events = model.change_events.rel.related_model._meta.db_table
        tables[events] = _rows(events, leave_out=("pgh_id", "chain_seq", "row_hash"))
    return tables


class _RolledBack(Exception):
    pass


def test_the_fast_path_gives_the_rows_the_triggers_give(seed_network):
    # given: a base seeded by the triggers (seed_demo), and its copies' plan, dates moved back a week and two
    _, plan, base = _network(seed_network, shift=True)

    # when: the copies written by the fast path, the result taken, then undone
    try:
        with transaction.atomic():
            seed_network.network_write(plan, base, workers=1, history=True, progress=lambda _: None)
            fast = _snapshot(seed_network)
            chain_problems, _ = verify_chains()
            rule_problems = [p for copy in plan for p in seed_network.checks_of_a_copy(copy, base)]
            raise _RolledBack
    except _RolledBack:
        pass
    # and: the same copies written with every trigger on, foreign keys checked
    for copy in plan:
        seed_network.copy_write(copy, base, triggers=True)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    reference = _snapshot(seed_network)

    # then
    assert chain_problems == []
    assert rule_problems == []
    assert reference["reports_followupfact"] and reference["reports_followupcell"] and reference["audit_followupevent"]
    for table, rows in reference.items():
        assert fast[table] == rows, table


def _without_physicians(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its rows by physician: each site has its own physicians."""
    return {
        key: [row for row in value if not str(row.get("group", "")).startswith("physician:")]
        if isinstance(value, list)
        else value
        for key, value in report.items()
    }


def test_copies_whose_dates_stay_have_the_outcomes_of_the_base(seed_network):
    # given: a base, and copies at two more sites whose dates do not move
    site_ids, plan, base = _network(seed_network, shift=False)

    # when

    seed_network.network_write(plan, base, workers=1, history=False, progress=lambda _: None)

    # then: each copied site has the base site's figures, the network three times its counts
    reports = [_without_physicians(outcomes_compute(as_of=TODAY, site_ids=(site,)).to_json()) for site in site_ids]
    assert reports[0]["funnel"][0]["blocks"] > 0
    assert reports[1] == reports[0]
    assert reports[2] == reports[0]
    network = outcomes_compute(as_of=TODAY).to_json()
    assert network["funnel"][0]["blocks"] == 3 * reports[0]["funnel"][0]["blocks"]
