"""Writing the access log. Everything that records a read of PHI or a security event comes through here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import AccessEvent, Action, Category
from .request import client_address, user_agent


def access_record(
    *,
    action: Action | str,
    category: Category | str,
    request: HttpRequest | None = None,
    actor=None,
    actor_label: str = "",
    object_type: str = "",
    object_id: str = "",
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """One access event. The actor is the request's user unless given; without either, `actor_label` names the
    system actor (e.g. "patient:survey-link", "system:celery")."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    label = actor.get_username() if actor is not None else (actor_label or "anonymous")
    return AccessEvent.objects.create(
        actor=actor,
        actor_label=label,
        client_address=client_address(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        action=action,
        category=category,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient_id=patient_id,
        path=request.path[:300] if request is not None else "",
        detail=detail or {},
    )
