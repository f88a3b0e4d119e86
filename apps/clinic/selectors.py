from __future__ import annotations

from .models import Nerve, Protocol


def protocol_get() -> Protocol:
    """The clinic's protocol, with its time points; created by the initial data migration."""
    return Protocol.objects.prefetch_related("time_points").get(pk=1)


def nerve_list(*, active_only: bool = True):
    qs = Nerve.objects.all()
    return qs.filter(is_active=True) if active_only else qs
