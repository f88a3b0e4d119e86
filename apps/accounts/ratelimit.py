"""Sign-in attempts limited per account and per client address, counted in the shared Redis cache so every web
process sees the same counts. Fixed windows: simple, and an attacker gains nothing from their edges."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from apps.audit.request import client_address


def _key(kind: str, value: str) -> str:
    # Hashed: a username typed by a stranger (possibly a patient's name pasted by mistake) never reaches Redis.
    # Case kept: the username is the one authenticate() looks up, and Django's backend matches it exactly.
    return f"signin:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _keys(*, username: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(_key("account", username), settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT)] if username else []
    if address:
        keys.append((_key("address", address.lower()), settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS))  # IPv6 hex
    return keys


def count(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (created with `timeout`) and return it: one atomic INCR in Redis, so requests
    at the same moment each get their own number. Every limit of the registry counts with this."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first of a new window
        cache.add(key, 1, timeout=timeout)
        return 1


def sign_in_blocked(*, username: str, address: str | None) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(username=username, address=address))


def sign_in_failed(*, username: str, address: str | None) -> None:
    for key, _limit in _keys(username=username, address=address):
        count(key, timeout=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)


def sign_in_succeeded(*, username: str) -> None:
    cache.delete(_key("account", username))


@receiver(user_login_failed, dispatch_uid="accounts.count_sign_in_failure")
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    address = client_address(request) if request is not None else None
    sign_in_failed(username=str(credentials.get("username", "")), address=address)
