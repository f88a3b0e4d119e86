"""schemathesis runs over the live OpenAPI schema (/api/schema/) as `st run` does in CI, here in the test: every check
it has (no server error; every status, body, header and content type as the schema says; schema-valid requests
accepted, schema-violating ones refused; missing required headers refused; ...), its examples, coverage and
fuzzing phases, and its stateful phase, which follows the schema's links (create -> read -> update with the ETag
in If-Match -> read...). Against a live server of this process on the test database (a transactional test: the
server's threads see the seeded registry), with a read-write admin token. Seeded and derandomized: the same
requests each run, a few per operation, bounded steps per scenario."""

from __future__ import annotations

import collections
import datetime as dt

import pytest
import schemathesis
from django.utils import timezone
from schemathesis.engine import events, from_schema

from apps.accounts.models import Role
from apps.adverse_events.models import AdverseEvent
from apps.adverse_events.services import adverse_event_create
from apps.api.services import token_issue
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

EXAMPLES_PER_OPERATION = 3
# Enough scenarios that the stateful phase, whose choice among links is partly truly random (schemathesis draws it
# outside the seed), reaches every operation asserted below in every run, 19 operations in all (10 were enough for 14).
STATEFUL_SCENARIOS = 80
STEPS_PER_SCENARIO = 6
# Answers a valid request may get besides 2xx: credentials and roles (401, 403), a record or page that is not there
# (404), a stale If-Match (412: the schema cannot know which ETag is current), the throttle (429).
ACCEPTED = ["2xx", "401", "403", "404", "409", "412", "429"]
# ...and 400 where a rule beyond the schema refuses schema-valid values, named in the answer: a username, nerve
# code or record id that names nobody, an end date before the start date, an MRN already taken, SMS without a mobile
# number, an answer dated outside its follow-up's window, CSV files whose rows the import refuses, an adverse event on
# no procedure or before it, text with a NUL byte.
BUSINESS_RULES = {
    "include-operation-id-regex": "^(api_v1_(blocks|ablations|treatments|follow_ups|adverse_events)_list"
    "|api_v1_reports_outcomes_retrieve|api_v1_patients_(create|partial_update)"
    "|api_v1_follow_ups_responses_create|api_v1_registry_imports_create|api_v1_adverse_events_create"
    "|api_v1_medication_statements_(list|create)|api_v1_instrument_answers_(list|create))$",
    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
}
# The create's coverage phase enumerates hundreds of bodies (every time zone of the enum, each field missing, null...)
# in a minute: its fields are the update's, whose coverage runs, and the create is fuzzed and chained statefully.
# Likewise the ablations', treatments' and follow-ups' lists, whose query parameters are the blocks' list's
# (ProcedureQuery), enumerated there (their own, the treatments' kind and patient, the follow-ups' status and time
# point, are fuzzed and followed by the stateful phase).
NOT_ENUMERATED = {
    "include-operation-id-regex": "^api_v1_(patients_create|ablations_list|treatments_list|follow_ups_list)$",
    "phases": {"coverage": {"enabled": False}},
}
# Preconditions are checked before the body (RFC 9110): a stale If-Match is answered 412 whatever the body holds;
# a missing one 428 (RFC 6585's status for exactly that).
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429"]
MISSING_HEADER = ["400", "401", "403", "406", "415", "422", "428"]


@pytest.fixture
def seeded(transactional_db, settings, live_server):
    """One of each record the API shows, an admin's read-write token, and each detail operation pinned to a record
    that exists (a random id only ever finds nothing)."""
    settings.API_RATE_LIMIT = "100000/min"  # hundreds of calls in seconds: not what the throttle is about
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
    event = adverse_event_create(
        block=block, occurred_on=timezone.localdate(), category="vasovagal", severity="mild", relatedness="definite"
    )
    admin = UserFactory(role=Role.ADMIN, is_staff=True)
    _, raw = token_issue(
        user=admin, name="schemathesis", expires_at=timezone.now() + dt.timedelta(days=1), read_only=False
    )
    pinned = {
        "api_v1_blocks_retrieve": block.public_id,
        "api_v1_ablations_retrieve": ablation.public_id,
        "api_v1_treatments_retrieve": ablation.public_id,
        "api_v1_adverse_events_retrieve": event.public_id,
        "api_v1_follow_ups_retrieve": follow_up.public_id,
        "api_v1_follow_ups_responses_create": follow_up.public_id,
        "fhir_patient_everything": patient.public_id,
    }
    return {"token": raw, "pinned": pinned, "url": live_server.url, "ablation": ablation}


def _adverse_event_on_the_seeded_treatment(seeded: dict) -> dict:
    """A new adverse event names its treatment (or block) by id: a random id names none (400), so the body's
    `treatment` is mostly the seeded treatment's, for the create to be accepted and its answer checked too."""
    return {
        "include-operation-id": "api_v1_adverse_events_create",
        "parameters": {"body.treatment": {"dictionary": "treatments", "probability": 0.8}},
    }


def _config(seeded: dict) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 20261205,
            "dictionaries": {"treatments": {"values": [str(seeded["ablation"].public_id)]}},
            "workers": 1,
            "cache": {"enabled": False},  # nothing learnt by an earlier run: the same requests each run
            "headers": {"Authorization": f"Bearer {seeded['token']}"},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
            "checks": {
                "enabled": True,  # all of them
                "positive_data_acceptance": {"expected-statuses": ACCEPTED},
                "negative_data_rejection": {"expected-statuses": REFUSED},
                "missing_required_header": {"expected-statuses": MISSING_HEADER},
            },
            "phases": {
                # Each list's parameters one by one, not every duplicate and every other method (405) of each.
                "coverage": {"unexpected-methods": [], "generate-duplicate-query-parameters": False},
                "stateful": {
                    "max-steps": STEPS_PER_SCENARIO,
                    "generation": {"max-examples": STATEFUL_SCENARIOS},
                },
            },
            "operations": [
                BUSINESS_RULES,
                NOT_ENUMERATED,
                _adverse_event_on_the_seeded_treatment(seeded),
                {
                    "include-operation-id": "api_v1_instrument_answers_create",
                    "parameters": {"body.treatment": {"dictionary": "treatments", "probability": 0.8}},
                },
                *(
                    {"include-operation-id": operation_id, "parameters": {"path.public_id": str(public_id)}}
                    for operation_id, public_id in seeded["pinned"].items()
                ),
            ],
        }
    )


def test_the_api_holds_to_its_schema_with_every_check_and_its_links(seeded):
    # given
    schema = schemathesis.openapi.from_url(
        f"{seeded['url']}/api/schema/?format=json",
        headers={"Authorization": f"Bearer {seeded['token']}"},
        config=_config(seeded),
    )
    failures, errors, calls = [], [], collections.Counter()
    # when every phase runs
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for node in event.recorder.cases.values():
                calls[event.phase, node.value.operation.label] += 1
            for checks in event.recorder.checks.values():
                failures.extend(
                    f"{event.phase.value} {event.recorder.label}: {check.name}: {check.failure_info.failure}"
                    for check in checks
                    if check.failure_info is not None
                )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(f"{event}")

    # then no check failed anywhere, and schemathesis itself could run everything
    assert not errors, "\n\n".join(errors)
    assert not failures, "\n\n".join(sorted(set(failures)))
    # and every operation was called, in the stateful phase too: the links carried a created (or listed) patient's id
    # and ETag from the create or the read to the update (If-Match), and on from there
    operations = {label for _, label in calls}
    assert len(operations) == 23
    stateful = {label for phase, label in calls if phase.value == "stateful"}
    assert {
        "POST /api/v1/patients/",
        "GET /api/v1/patients/{public_id}/",
        "PATCH /api/v1/patients/{public_id}/",
        "GET /fhir/Patient/{public_id}/$everything",
        "GET /api/v1/treatments/{public_id}/",
        "POST /api/v1/adverse-events/",
    } <= stateful, "\n".join(
        f"{label}: {calls[phase, label]}" for phase, label in sorted(calls) if phase.value == "stateful"
    )
    # and adverse events were recorded on the seeded treatment: creates were accepted, their answers checked
    assert AdverseEvent.objects.filter(treatment=seeded["ablation"]).exists()
