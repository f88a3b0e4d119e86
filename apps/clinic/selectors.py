from __future__ import annotations

from django.db.models import QuerySet

from .models import PROTOCOL_PK, Nerve, Protocol

__all__ = ["PROTOCOL_PK", "nerve_list", "protocol_get"]


def protocol_get() -> Protocol:
    """The clinic's protocol (its time points are `protocol.time_points.all()`), made by a data migration."""
    return Protocol.objects.get(pk=PROTOCOL_PK)


def nerve_list(*, active_only: bool = True) -> QuerySet[Nerve]:
    qs = Nerve.objects.all()
    return qs.filter(is_active=True) if active_only else qs
