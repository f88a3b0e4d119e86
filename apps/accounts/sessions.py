"""Session lifetime: 15 minutes idle (SESSION_COOKIE_AGE, renewed by each request), 12 hours at most whatever the
activity, and background requests (polling) that never count as activity."""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.middleware import SessionMiddleware
from django.dispatch import receiver

SIGNED_IN_AT = "signed_in_at"
RENEWED_AT = "renewed_at"
RENEW_EVERY_SECONDS = 60


def passive_request(view):
    """For a view polled in the background (e.g. a report's progress): its requests do not renew the session,
    so a page left open and polling still signs out after SESSION_IDLE_SECONDS. URLs under
    settings.SESSION_PASSIVE_PATH_PREFIXES behave the same without the decorator."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.session_passive = True
        return view(request, *args, **kwargs)

    return wrapper


class PassiveAwareSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware, except that a passive request neither saves the session (which would push its
    expiry back) nor sends the cookie again."""

    def process_response(self, request, response):
        passive = getattr(request, "session_passive", False) or request.path.startswith(
            tuple(settings.SESSION_PASSIVE_PATH_PREFIXES)
        )
        if passive and hasattr(request, "session") and not request.session.is_empty():
            return response
        if hasattr(request, "session") and not request.session.modified and not request.session.is_empty():
            # Renewing the idle expiry writes the session row; once a minute is enough (the idle limit then counts
            # from at most a minute before the last request) and spares every page that write.
            renewed = request.session.get(RENEWED_AT)
            if renewed is not None and time.time() - renewed < RENEW_EVERY_SECONDS:
                return response
            request.session[RENEWED_AT] = int(time.time())
        return super().process_response(request, response)


class SessionLifetimeMiddleware:
    """Signs out a session older than SESSION_MAX_AGE_SECONDS, however active it has been."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            if started is None:
                request.session[SIGNED_IN_AT] = int(time.time())
            elif time.time() - started > settings.SESSION_MAX_AGE_SECONDS:
                logout(request)
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="accounts.session_signed_in_at")
def _stamp_session(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = int(time.time())
