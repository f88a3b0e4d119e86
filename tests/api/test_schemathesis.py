"""schemathesis over every operation of the live OpenAPI schema (/api/schema/, read through the WSGI app, in this
process, so it sees the test's database): with a read-write admin token and a seeded registry, no answer is a server
error and every answer conforms to the schema (its status documented, its body, headers and content type as
described). A few examples per operation, derandomized: the same cases each run, the whole test in seconds."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import Role
from apps.api.services import token_issue
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

EXAMPLES_PER_OPERATION = 15
# Not positive_data_acceptance: a value the schema allows can still be refused with a documented 400 (a physician's
# username that names nobody, an end date before the start date), which is what a client needs to hear.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,  # an update without its declared If-Match is refused (428), not carried out
]
# An update with a stale If-Match is answered 412 before its body is read (RFC 9110: preconditions first).
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429", "5xx"]
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}})


@pytest.fixture
def seeded(db, settings):
    """One of each record the API shows, and an admin's read-write token."""
    settings.API_RATE_LIMIT = "100000/min"  # hundreds of calls in a few seconds: not what the throttle is about
    patient = PatientFactory()
    block = BlockFactory(patient=patient, diary=[(15, 2), (60, 3)])
    ablation = make_ablation(patient=patient, qualifying_block=block)
    follow_up = ablation.follow_ups.get(time_point="2w")
    response_record(
        ablation=ablation,
        recorded_by=None,
        completed_at=timezone.now() - dt.timedelta(days=1),
        collected_via="phone",
        pain_average=3,
    )
    admin = UserFactory(role=Role.ADMIN, is_staff=True)
    _, raw = token_issue(
        user=admin, name="schemathesis", expires_at=timezone.now() + dt.timedelta(days=1), read_only=False
    )
    ids = {
        "/api/v1/patients/{public_id}/": patient.public_id,
        "/api/v1/blocks/{public_id}/": block.public_id,
        "/api/v1/ablations/{public_id}/": ablation.public_id,
        "/api/v1/follow-ups/{public_id}/": follow_up.public_id,
        "/api/v1/follow-ups/{public_id}/responses/": follow_up.public_id,
        "/fhir/Patient/{public_id}/$everything": patient.public_id,
    }
    return {"headers": {"Authorization": f"Bearer {raw}"}, "ids": ids}


@pytest.fixture
def wsgi_app():
    """The WSGI app, minus what would close the test's database connection (and its transaction) after each
    request: as Django's own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(seeded, wsgi_app):
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", wsgi_app, headers=seeded["headers"], config=CONFIG
    )


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()  # a part of the schema schemathesis cannot read fails the test here


def _current_etag(path: str, case, seeded: dict) -> str | None:
    """The ETag a read of the case's record answers with, or None when it names no record."""
    try:
        url = path.format(**(case.path_parameters or {}))
    except (KeyError, IndexError, ValueError):
        return None
    response = Client(HTTP_AUTHORIZATION=seeded["headers"]["Authorization"]).get(url)
    # Django's test client connects this again when it is done; the WSGI calls must keep the test's connection.
    request_started.disconnect(close_old_connections)
    return response.get("ETag") if response.status_code == 200 else None


def _check(operation, mode: GenerationMode, seeded: dict, statuses: dict) -> None:
    """One operation as a Hypothesis test: a few derandomized cases, each called and checked."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing case is reported as is
    )
    def check(case):
        # given a record that exists, for the operations about one (a random id only ever finds nothing; invalid
        # inputs keep theirs, which may be the invalid part)
        if mode == GenerationMode.POSITIVE and "public_id" in (case.path_parameters or {}):
            real = seeded["ids"].get(operation.path, case.path_parameters["public_id"])
            case.path_parameters["public_id"] = str(real)
        # and, for an update, the record's current ETag in the If-Match it declares (a random one is answered 412
        # before the body is read, so the body's validation would never be reached); a case without the header
        # keeps that as its invalid part
        if "If-Match" in (case.headers or {}):
            case.headers["If-Match"] = _current_etag(operation.path, case, seeded) or case.headers["If-Match"]
        # when / then
        response = case.call_and_validate(headers=seeded["headers"], checks=CHECKS)
        statuses.setdefault(operation.label, set()).add(response.status_code)

    check()


def test_every_operation_conforms_to_the_schema(seeded, api_schema):
    # Each operation as its own Hypothesis test (not schemathesis' pytest plugin: its per-operation subtests do not
    # run under pytest 9), valid inputs then invalid ones; every operation's failures reported together.
    failures, statuses = [], {}
    for operation in _operations(api_schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _check(operation, mode, seeded, statuses)
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
    # and every operation was called, every read answering with data at least once (valid bodies for the writes
    # are rarely guessed: real CSV files, a date inside a follow-up's window; their own tests write)
    assert len(statuses) == 14
    reads = {label for label in statuses if label.startswith("GET ")}
    assert {label for label in reads if any(200 <= code < 300 for code in statuses[label])} == reads
    # and the update's body was read (its If-Match the current ETag), not only refused as stale (412) or missing (428)
    assert statuses["PATCH /api/v1/patients/{public_id}/"] & {200, 400}
