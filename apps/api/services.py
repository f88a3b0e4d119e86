from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.accounts.models import User

from .models import ApiToken, token_generate, token_hash


def token_issue(
    *, user: User, name: str, expires_at: datetime, read_only: bool = True, created_by: User | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`, and the token itself: shown once, never stored."""
    token = ApiToken(user=user, name=name, read_only=read_only, expires_at=expires_at, created_by=created_by)
    raw = token_assign_key(token)
    token.save()
    return token, raw


def token_assign_key(token: ApiToken) -> str:
    """Give an unsaved token (the admin's add form) its key; returns the token itself, to show once."""
    raw = token_generate()
    token.key_hash = token_hash(raw)
    token.key_prefix = raw[:10]
    return raw


def token_revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def token_find(raw: str) -> ApiToken | None:
    """The usable token (not expired or revoked, its user active) of a raw token, or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw)).first()
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    return token
