"""A fixed-window counter per client address in the shared cache (Redis), for the patients' public pages."""

from __future__ import annotations

import time

from django.conf import settings

from apps.accounts.ratelimit import count


def client_address(request) -> str:
    # Behind N reverse proxies of our own (AUDIT_TRUSTED_PROXIES, shared with the audit trail) the client is the
    # N-th address from the right of X-Forwarded-For: the ones further left are whatever the client claimed.
    proxies = getattr(settings, "AUDIT_TRUSTED_PROXIES", 0)
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def rate_limited(request, *, scope: str) -> bool:
    """Count this request; True once the address has made more than SURVEY_RATE_LIMIT in the window."""
    window = settings.SURVEY_RATE_WINDOW_SECONDS
    key = f"survey-rate:{scope}:{client_address(request)}:{int(time.time() // window)}"
    return count(key, timeout=window) > settings.SURVEY_RATE_LIMIT


def retry_after_seconds() -> int:
    """Seconds until the current window ends, when every address's counts start again (a 429's Retry-After)."""
    window = settings.SURVEY_RATE_WINDOW_SECONDS
    return window - int(time.time()) % window
