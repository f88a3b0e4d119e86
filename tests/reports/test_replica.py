"""Past one server: with a replica configured (settings.READ_REPLICA), the dashboards, drill-downs and report runs
read their figures from it while every write stays on the primary; without it, nothing reads from a second alias.

The replica here is the test database itself under a second alias (config/settings/test.py, Django's TEST MIRROR):
a separate connection, so the data is committed (transaction=True) for it to see, as a real replica would."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Role
from apps.audit.models import AccessEvent
from apps.clinic.replica import PrimaryReplicaRouter, read_alias, replica_reads
from apps.reports import services
from apps.reports.models import ReportRun
from apps.reports.outcomes import STATEMENT_SETTINGS
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "registry-sample"
AS_OF = "2026-06-30"

both_databases = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def sample():
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    # The dashboard's figures are cached per data version: each test computes its own.
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match="*reports:*"):
        client.delete(key)


@pytest.fixture
def replica_on(settings):
    settings.READ_REPLICA = "replica"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    return client


def _sql(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


# Anywhere in the statement: pghistory sends a write with its context's set_config() in front.
WRITE = re.compile(r'\b(INSERT INTO|UPDATE "\w+" SET|DELETE FROM|TRUNCATE)\b', re.IGNORECASE)


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if WRITE.search(s)]


def _get(client, url, params):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(url, params)
    return response, _sql(primary), _sql(replica)


@both_databases
def test_the_dashboard_reads_its_figures_from_the_replica_and_writes_its_audit_row_on_the_primary(
    sample, replica_on, admin_client
):
    # given
    before = AccessEvent.objects.count()

    # when
    response, primary, replica = _get(admin_client, reverse("reports:dashboard"), {"as_of": AS_OF})

    # then the figures (the engine's statements, the channels', the nerves' names) came from the replica
    assert response.status_code == 200
    assert response.context["funnel_rows"][0]["cells"][0].text != "0"
    assert sum(STATEMENT_SETTINGS in s for s in replica) >= 1
    assert any("reminders_message" in s for s in replica), "the channel figures"
    assert any('FROM "clinic_nerve"' in s for s in replica)
    assert not any(STATEMENT_SETTINGS in s or "reminders_message" in s for s in primary)
    # and nothing was written there; the access log and the session were, on the primary
    assert _writes(replica) == []
    assert any('"audit_accessevent"' in s for s in _writes(primary))
    assert AccessEvent.objects.count() == before + 1


@both_databases
def test_the_compare_page_reads_from_the_replica(sample, replica_on, admin_client):
    # when
    response, primary, replica = _get(admin_client, reverse("reports:compare"), {"as_of": AS_OF})

    # then
    assert response.status_code == 200
    assert any(STATEMENT_SETTINGS in s for s in replica)
    assert not any(STATEMENT_SETTINGS in s for s in primary)
    assert _writes(replica) == []


@both_databases
def test_a_drill_down_lists_its_procedures_from_the_replica(sample, replica_on, admin_client):
    # when every ablation of the 3-month figure is listed
    params = {"as_of": AS_OF, "figure": "response", "measure": "ablations", "time_point": "3m"}
    response, primary, replica = _get(admin_client, reverse("reports:drill"), params)

    # then the ids and the procedures with their patients came from the replica
    assert response.status_code == 200
    assert response.context["count"] > 0
    assert len(response.context["procedures"]) == response.context["count"]
    assert any(STATEMENT_SETTINGS in s for s in replica)
    assert any('FROM "cryoablations_cryoablation"' in s and '"patients_patient"' in s for s in replica)
    assert not any('FROM "cryoablations_cryoablation"' in s for s in primary)
    assert _writes(replica) == []
    assert any('"audit_accessevent"' in s for s in _writes(primary))


@both_databases
def test_a_report_run_computes_on_the_replica_and_keeps_its_own_row_on_the_primary(sample, replica_on):
    # given a run just asked for (its row exists on the primary only, as far as a lagging replica knows)
    run = services.report_run_request(requested_by=None)

    # when a worker builds it
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        services.report_run_build(run_id=run.pk)

    # then the figures came from the replica, the run was claimed, read and finished on the primary
    run.refresh_from_db()
    assert run.status == ReportRun.Status.DONE, run.step
    assert any(STATEMENT_SETTINGS in s for s in _sql(replica))
    assert not any('"reports_reportrun"' in s for s in _sql(replica))
    assert _writes(_sql(replica)) == []
    assert not any(STATEMENT_SETTINGS in s for s in _sql(primary))
    assert len([s for s in _writes(_sql(primary)) if '"reports_reportrun"' in s]) >= 2


@both_databases
def test_without_a_replica_everything_reads_from_the_primary(sample, settings, admin_client):
    # given a deployment without DATABASE_REPLICA_URL
    settings.READ_REPLICA = ""

    # when
    response, primary, replica = _get(admin_client, reverse("reports:dashboard"), {"as_of": AS_OF})
    run = services.report_run_request(requested_by=None)
    with CaptureQueriesContext(connections["replica"]) as run_replica:
        services.report_run_build(run_id=run.pk)

    # then
    assert response.status_code == 200
    assert any(STATEMENT_SETTINGS in s for s in primary)
    assert replica == [] and run_replica.captured_queries == []
    with replica_reads():
        assert read_alias() == "default"


def test_writes_and_migrations_stay_on_the_primary(settings):
    # given
    settings.READ_REPLICA = "replica"
    router = PrimaryReplicaRouter()

    # then reads go to the replica only inside replica_reads(); writes and migrations never
    assert router.db_for_read(ReportRun) is None
    with replica_reads():
        assert router.db_for_read(ReportRun) == "replica"
        assert router.db_for_write(ReportRun) == "default"
    assert read_alias() == "default"
    assert router.allow_migrate("default", "reports") is True
    assert router.allow_migrate("replica", "reports") is False


def _settings_with(extra_env: dict[str, str]) -> str:
    code = (
        "from django.conf import settings; "
        "print(sorted(settings.DATABASES), repr(settings.READ_REPLICA), "
        "settings.DATABASES.get('replica', {}).get('HOST'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.local", **extra_env}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_replica_alias_exists_only_with_database_replica_url():
    # when / then: without the setting, one alias as before; with it, the replica's
    assert _settings_with({}) == "['default'] '' None"
    with_replica = _settings_with({"DATABASE_REPLICA_URL": "postgres://painreg:secret@replica:5432/painreg"})
    assert with_replica == "['default', 'replica'] 'replica' replica"
