"""How the OpenAPI schema describes the API's own authentication (loaded by ApiConfig.ready), and the FHIR
operation's path."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
