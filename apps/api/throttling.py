"""Requests per token (or per signed-in user, for the browser's session), counted in the shared cache."""

from __future__ import annotations

import math
import time
from typing import cast

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts import ratelimit

from .models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """A fixed window per caller: one Redis INCR per request on a key created with the window's expiry (as the
    sign-in and survey limits count). DRF's own throttle reads a list of timestamps, appends and writes it back, so
    concurrent requests overwrite each other's counts and more than the limit get through."""

    scope = "api"

    def get_rate(self) -> str:
        # Read at each request, not at import, so a deployment (or a test) can change it.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        return f"api:throttle:{ident}"

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = cast(tuple[int, int], self.parse_rate(self.rate))  # a rate is set
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        self.now = now
        return ratelimit.count(f"{ident}:{window}", timeout=self.duration + 1) <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window ends (Retry-After), at least one."""
        return max(1, math.ceil(self.window_ends_at - self.now))
