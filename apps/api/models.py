"""API tokens that admins issue per user: only a SHA-256 hash of the token is kept (the token itself is shown once,
when it is issued), with an expiry, a revocation time and a read-only or read-write scope."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "prg_"  # noqa: S105 (a marker that tells painreg tokens apart, not a secret)


def token_hash(token: str) -> str:
    # The token is 256 random bits: a fast hash is enough (nothing to guess), and lets each request look it up.
    return hashlib.sha256(token.encode()).hexdigest()


def token_generate() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “EHR interface” or “analysis scripts”.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the token, to tell tokens apart in lists and logs (not enough to use it).
    key_prefix = models.CharField(max_length=12, editable=False)
    read_only = models.BooleanField(default=True, help_text="A read-only token can read but not create or change.")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…, {self.user})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
