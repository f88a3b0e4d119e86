from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db.models import QuerySet

from apps.accounts.models import User

from .models import PROTOCOL_PK, Nerve, Protocol, Sender, Site

__all__ = [
    "PROTOCOL_PK",
    "nerve_list",
    "protocol_get",
    "sender_for",
    "site_list",
    "site_network",
    "site_only",
    "sites_of",
]


def protocol_get() -> Protocol:
    """The clinic's protocol (its time points are `protocol.time_points.all()`), made by a data migration."""
    return Protocol.objects.get(pk=PROTOCOL_PK)


def nerve_list(*, active_only: bool = True) -> QuerySet[Nerve]:
    qs = Nerve.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def site_only() -> Site | None:
    """The registry's one site; None in a network (two sites or more), where nothing may assume one."""
    sites = list(Site.objects.all()[:2])
    return sites[0] if len(sites) == 1 else None


# Whether the registry is a network, as read once at the start of the request being served (None: outside one).
_network_of_request: ContextVar[bool | None] = ContextVar("painreg_site_network", default=None)


def site_network() -> bool:
    """Two sites or more: every patient and every new user must be given theirs. Within a request, as read at its
    start (site_network_remembered): its middleware, forms, pages and navigation ask it without a query each."""
    known = _network_of_request.get()
    return known if known is not None else Site.objects.count() > 1


@contextmanager
def site_network_remembered() -> Iterator[None]:
    """Within the block (a request: apps.clinic.row_security.SiteScopeMiddleware), site_network asks the database
    once."""
    token = _network_of_request.set(Site.objects.count() > 1)
    try:
        yield
    finally:
        _network_of_request.reset(token)


def site_list() -> QuerySet[Site]:
    """The active sites: those a patient may be put in."""
    return Site.objects.filter(is_active=True)


def sites_of(user: User) -> QuerySet[Site]:
    """The active sites `user` is a member of: the sites they may put a patient in."""
    return site_list().filter(members=user)


def sender_for(site: Site | None) -> Sender:
    """Who a message to a patient of `site` is from (Site.sender: its fields, else the settings). With no site known
    (a text from a number no one patient has): the only site's, and in a network the registry's settings."""
    site = site or site_only() or Site(name=settings.CLINIC_NAME)
    return site.sender
