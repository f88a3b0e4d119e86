"""Who is asking, from where: the client address and user agent of a request, as the audit records them."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX = 300


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or with AUDIT_TRUSTED_PROXIES = n > 0 the address the n-th proxy from us saw in
    X-Forwarded-For. Only addresses appended by proxies we run are trusted: the left part is the client's to forge."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "AUDIT_TRUSTED_PROXIES", 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and forwarded:
        address = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
