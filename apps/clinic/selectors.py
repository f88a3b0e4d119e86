from __future__ import annotations

from django.db.models import QuerySet

from .models import Nerve, Protocol


def protocol_get() -> Protocol:
    """The clinic's protocol (its time points are `protocol.time_points.all()`), made by a data migration."""
    return Protocol.objects.get(pk=1)


def nerve_list(*, active_only: bool = True) -> QuerySet[Nerve]:
    qs = Nerve.objects.all()
    return qs.filter(is_active=True) if active_only else qs
