from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db.models import QuerySet

from apps.accounts.models import User

from .models import (
    PROTOCOL_PK,
    SITE_PROTOCOL_FIELDS,
    Nerve,
    Protocol,
    Sender,
    Site,
    SiteProtocol,
    SiteTimePoint,
    TimePoint,
)

__all__ = [
    "PROTOCOL_PK",
    "nerve_list",
    "protocol_for",
    "protocol_get",
    "protocols_for",
    "protocols_of_every_site",
    "sender_for",
    "site_list",
    "site_network",
    "site_only",
    "sites_of",
    "time_points_for",
]


def protocol_get() -> Protocol:
    """The registry's protocol (its time points are `protocol.time_points.all()`), made by a data migration: every
    site's, but for what a site sets otherwise (protocol_for)."""
    return Protocol.objects.get(pk=PROTOCOL_PK)


def _with_own(registry: Protocol, own: SiteProtocol | None) -> Protocol:
    """The registry's protocol with what `own` (a site's) sets otherwise: its fields that are not blank."""
    protocol = copy.copy(registry)
    for name in SITE_PROTOCOL_FIELDS if own is not None else ():
        value = getattr(own, name)
        if value is not None and value != "":
            setattr(protocol, name, value)
    return protocol


def protocol_for(site_id: int | None) -> Protocol:
    """The protocol of the patients of the site `site_id` (a patient's site_id; None: the registry's): the
    registry's with what the site sets otherwise (SiteProtocol). Not saved: read it, change it with the protocol
    page."""
    return protocols_for([site_id])[site_id]


def protocols_for(site_ids: Iterable[int | None]) -> dict[int | None, Protocol]:
    """protocol_for each of these sites, in two queries whatever their number: for a list of records of several
    sites."""
    wanted = set(site_ids)
    own = SiteProtocol.objects.in_bulk(wanted - {None})  # keyed by site: the site is its primary key
    registry = protocol_get()
    return {site_id: _with_own(registry, own.get(site_id)) for site_id in wanted}


def protocols_of_every_site() -> dict[int | None, Protocol]:
    """protocols_for every site, and None's (the registry's)."""
    return protocols_for([*Site.objects.values_list("pk", flat=True), None])


def time_points_for(site_id: int | None) -> list[TimePoint]:
    """The follow-up time points of the patients of the site `site_id` (None: the registry's): the registry's, each
    with the site's own days where it sets them (SiteTimePoint), in order of their target day. Not saved, as
    protocol_for."""
    time_points = list(TimePoint.objects.filter(protocol_id=PROTOCOL_PK))
    if site_id is None:
        return time_points
    days = {t.time_point_id: t for t in SiteTimePoint.objects.filter(site_protocol_id=site_id)}
    for time_point in time_points:
        if (site_days := days.get(time_point.pk)) is not None:
            time_point.target_day = site_days.target_day
            time_point.window_start_day = site_days.window_start_day
            time_point.window_end_day = site_days.window_end_day
    return sorted(time_points, key=lambda time_point: time_point.target_day)


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
