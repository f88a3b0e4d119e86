"""Who is calling: a bearer token issued by an admin, or the browser's session (its CSRF check included)."""

from __future__ import annotations

import pghistory
from django.utils import timezone
from rest_framework import authentication, exceptions

from apps.clinic.row_security import request_scope

from .models import ApiToken
from .services import token_find

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION_SECONDS = 60


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`. A revoked or expired token, or one whose user is inactive, gets 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as `Authorization: Bearer <token>`.")
        try:
            raw = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("Invalid token.") from error
        token = token_find(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        self._touch(token)
        # The change history names the token's user, as it names a signed-in user (apps.audit.context).
        pghistory.context(user=token.user.pk, username=token.user.get_username(), api_token=token.key_prefix)
        # And the database's site rule scopes it, as it does a signed-in user's request (SiteScopeMiddleware).
        request_scope(token.user)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _touch(token: ApiToken) -> None:
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
