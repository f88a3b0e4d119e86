"""Nothing a signed-in user is shown stays in a browser's or a proxy's cache: clinic workstations are shared, and the
back button or a cache directory would show the next user the last one's patients."""

from __future__ import annotations

from django.utils.cache import patch_cache_control

# Answered with patient data to token callers, who have no session: not cached whoever calls.
ALWAYS_PRIVATE_PREFIXES = ("/api/", "/fhir/")


class NoStoreForSignedInMiddleware:
    """`Cache-Control: no-store` on every response to a signed-in user (pages, API, FHIR, CSV/XLSX/PDF downloads),
    and on every API and FHIR response. Static files are answered before this by WhiteNoise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read after the view: the REST framework sets request.user for a bearer token only then.
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith(ALWAYS_PRIVATE_PREFIXES):
            patch_cache_control(response, no_store=True)
        return response
