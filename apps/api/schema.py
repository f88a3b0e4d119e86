"""What the OpenAPI schema says beyond each view's own declarations (loaded by ApiConfig.ready): the API's
authentication, the errors every operation can answer and the bodies they carry, the links between operations
(schemathesis' stateful tests and clients follow them: create, read, update), and the FHIR operation's path."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension

FHIR_JSON = "application/fhir+json"
ERROR = "#/components/schemas/Error"
FIELD_ERRORS = "#/components/schemas/FieldErrors"
OPERATION_OUTCOME = "#/components/schemas/OperationOutcome"

# The bodies the API's errors really carry (apps.api.exceptions.exception_handler, DRF's handler, and under /fhir/
# apps.api.fhir_views.fhir_exception_handler).
ERROR_SCHEMAS = {
    "Error": {
        "type": "object",
        "description": "Why the request was refused (401, 403, 404, 405, 412, 428, 429...).",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "FieldErrors": {
        "type": "object",
        "description": "Every bad field, header or query parameter, named, with its messages (400); "
        "`non_field_errors` for what belongs to none.",
        "minProperties": 1,
        "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "OperationOutcome": {
        "type": "object",
        "description": "A FHIR R4 OperationOutcome: what went wrong, in its issue's diagnostics.",
        "properties": {
            "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "severity": {"type": "string"},
                        "code": {"type": "string"},
                        "diagnostics": {"type": "string"},
                    },
                    "required": ["severity", "code"],
                },
            },
        },
        "required": ["resourceType", "issue"],
    },
}

# Every operation: no or bad credentials (401, with the challenge), a role or a read-only token that does not allow
# it (403), over the rate limit (429, with the seconds to wait).
COMMON_ERRORS = {
    "401": (
        "No valid credentials: a missing, invalid, expired or revoked token, or a session without its second factor.",
        {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    ),
    "403": ("Your role, or a read-only token, does not allow this.", {}),
    "429": (
        "Over the rate limit (API_RATE_LIMIT): retry after the seconds in Retry-After.",
        {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True}},
    ),
}
# A request body in a format the operation does not read.
UNSUPPORTED_MEDIA_TYPE = "415"

# The links between operations, by operation id and status: what a response names, and the operation it feeds.
_PATIENT_ID = {"public_id": "$response.body#/id"}
_UPDATE = {
    "operationId": "api_v1_patients_partial_update",
    "parameters": {**_PATIENT_ID, "header.If-Match": "$response.header.ETag"},
}
LINKS = {
    ("api_v1_patients_create", "201"): {
        "ReadPatient": {"operationId": "api_v1_patients_retrieve", "parameters": _PATIENT_ID},
        "UpdatePatient": _UPDATE,
        "ExportPatient": {"operationId": "fhir_patient_everything", "parameters": _PATIENT_ID},
    },
    ("api_v1_patients_retrieve", "200"): {
        "UpdatePatient": _UPDATE,
        "ExportPatient": {"operationId": "fhir_patient_everything", "parameters": _PATIENT_ID},
    },
    ("api_v1_patients_partial_update", "200"): {
        "ReadPatient": {"operationId": "api_v1_patients_retrieve", "parameters": _PATIENT_ID},
        "UpdatePatientAgain": _UPDATE,
    },
    ("api_v1_patients_list", "200"): {
        "ReadPatient": {
            "operationId": "api_v1_patients_retrieve",
            "parameters": {"public_id": "$response.body#/results/0/id"},
        },
    },
    ("api_v1_blocks_list", "200"): {
        "ReadBlock": {
            "operationId": "api_v1_blocks_retrieve",
            "parameters": {"public_id": "$response.body#/results/0/id"},
        },
    },
    ("api_v1_blocks_retrieve", "200"): {
        "ReadPatient": {
            "operationId": "api_v1_patients_retrieve",
            "parameters": {"public_id": "$response.body#/patient"},
        },
    },
    ("api_v1_ablations_list", "200"): {
        "ReadAblation": {
            "operationId": "api_v1_ablations_retrieve",
            "parameters": {"public_id": "$response.body#/results/0/id"},
        },
    },
    ("api_v1_ablations_retrieve", "200"): {
        "ReadFollowUp": {
            "operationId": "api_v1_follow_ups_retrieve",
            "parameters": {"public_id": "$response.body#/follow_ups/0/id"},
        },
        "ReadPatient": {
            "operationId": "api_v1_patients_retrieve",
            "parameters": {"public_id": "$response.body#/patient"},
        },
    },
    ("api_v1_follow_ups_list", "200"): {
        "ReadFollowUp": {
            "operationId": "api_v1_follow_ups_retrieve",
            "parameters": {"public_id": "$response.body#/results/0/id"},
        },
    },
    ("api_v1_follow_ups_retrieve", "200"): {
        "RecordAnswers": {"operationId": "api_v1_follow_ups_responses_create", "parameters": _PATIENT_ID},
        "ReadTreatment": {
            "operationId": "api_v1_treatments_retrieve",
            "parameters": {"public_id": "$response.body#/treatment"},
        },
    },
    ("api_v1_treatments_list", "200"): {
        "ReadTreatment": {
            "operationId": "api_v1_treatments_retrieve",
            "parameters": {"public_id": "$response.body#/results/0/id"},
        },
    },
    ("api_v1_treatments_retrieve", "200"): {
        "ReadFollowUp": {
            "operationId": "api_v1_follow_ups_retrieve",
            "parameters": {"public_id": "$response.body#/follow_ups/0/id"},
        },
        "ReadPatient": {
            "operationId": "api_v1_patients_retrieve",
            "parameters": {"public_id": "$response.body#/patient"},
        },
        # An event on this treatment, on its date (the earliest an event may be): the rest of the body is the
        # client's.
        "RecordAdverseEvent": {
            "operationId": "api_v1_adverse_events_create",
            "requestBody": {
                "treatment": "$response.body#/id",
                "block": None,
                "occurred_on": "$response.body#/performed_on",
                "resolved_on": None,
            },
        },
        "ListAdverseEvents": {
            "operationId": "api_v1_adverse_events_list",
            "parameters": {"query.treatment": "$response.body#/id"},
        },
        "ExportPatient": {
            "operationId": "fhir_patient_everything",
            "parameters": {"public_id": "$response.body#/patient"},
        },
    },
    ("api_v1_adverse_events_create", "201"): {
        "ReadAdverseEvent": {"operationId": "api_v1_adverse_events_retrieve", "parameters": _PATIENT_ID},
        "ExportPatient": {
            "operationId": "fhir_patient_everything",
            "parameters": {"public_id": "$response.body#/patient"},
        },
    },
    ("api_v1_adverse_events_list", "200"): {
        "ReadAdverseEvent": {
            "operationId": "api_v1_adverse_events_retrieve",
            "parameters": {"public_id": "$response.body#/results/0/id"},
        },
    },
    ("api_v1_adverse_events_retrieve", "200"): {
        "ReadPatient": {
            "operationId": "api_v1_patients_retrieve",
            "parameters": {"public_id": "$response.body#/patient"},
        },
        "ExportPatient": {
            "operationId": "fhir_patient_everything",
            "parameters": {"public_id": "$response.body#/patient"},
        },
    },
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token issued by an admin (Django admin, API tokens): `Authorization: Bearer <token>`.",
        }


def fhir_operation_paths(result, generator, request, public):
    """drf-spectacular reads a URL route's `$` as a regular expression's end and drops it; FHIR operations are
    named with it (`$everything`), so the schema gives back the address the server answers."""
    result["paths"] = {
        re.sub(r"/everything$", "/$everything", path) if path.startswith("/fhir/") else path: item
        for path, item in result["paths"].items()
    }
    return result


def _error_content(path: str, code: str) -> dict:
    if path.startswith("/fhir/"):
        return {FHIR_JSON: {"schema": {"$ref": OPERATION_OUTCOME}}}
    return {"application/json": {"schema": {"$ref": FIELD_ERRORS if code == "400" else ERROR}}}


def _closed_json_body(result, request_body: dict) -> None:
    """A JSON body's unknown fields are refused, named (apps.api.views.validated_form): the schema says so."""
    schema = request_body["content"].get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        result["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]["additionalProperties"] = False


def errors_and_links(result, generator, request, public):
    """Every operation's errors with their bodies (a 4xx a view declares by its description alone gets the body the
    API sends), the errors common to all, and the links."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, item in result["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            for code, (description, headers) in COMMON_ERRORS.items():
                responses.setdefault(code, {"description": description})
                if headers:
                    responses[code]["headers"] = headers
            if "requestBody" in operation:
                responses.setdefault(UNSUPPORTED_MEDIA_TYPE, {"description": "A request body in another format."})
                _closed_json_body(result, operation["requestBody"])
            for code, response in responses.items():
                if code.startswith("4"):
                    response.setdefault("content", _error_content(path, code))
                if code == "400" and not path.startswith("/fhir/"):
                    # Any 400 may name bad fields (a body that is not JSON, a bad multipart), whatever else it says.
                    for media in response["content"].values():
                        if media["schema"] != {"$ref": FIELD_ERRORS}:
                            media["schema"] = {"anyOf": [media["schema"], {"$ref": FIELD_ERRORS}]}
            for (operation_id, code), links in LINKS.items():
                if operation.get("operationId") == operation_id:
                    responses[code]["links"] = links
    return result
