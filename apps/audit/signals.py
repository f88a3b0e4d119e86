"""Sign-in, sign-out and failed sign-in, recorded in the access log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import Action, Category
from .services import access_record


@receiver(user_logged_in, dispatch_uid="audit.signed_in")
def _signed_in(sender, request, user, **kwargs) -> None:
    access_record(request=request, actor=user, action=Action.SIGN_IN, category=Category.AUTHENTICATION)


@receiver(user_logged_out, dispatch_uid="audit.signed_out")
def _signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        access_record(request=request, actor=user, action=Action.SIGN_OUT, category=Category.AUTHENTICATION)


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    # The username typed is kept (it is how an admin sees someone guessing at an account), never the password.
    username = str(credentials.get("username", ""))[:150]
    access_record(
        request=request,
        actor_label=username or "anonymous",
        action=Action.SIGN_IN_FAILED,
        category=Category.AUTHENTICATION,
        detail={"username": username},
    )
