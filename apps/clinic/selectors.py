from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db.models import QuerySet

from apps.accounts.models import User

from .models import PROTOCOL_PK, SITE_PROTOCOL_FIELDS, Nerve, Protocol, Sender, Site, SiteProtocol, TimePoint

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


def _site_protocol(site: Site | None) -> SiteProtocol | None:
    if site is None or site.pk is None:
        return None
    try:
        return site.protocol
    except SiteProtocol.DoesNotExist:
        return None


def protocol_for(site: Site | None, *, registry: Protocol | None = None) -> Protocol:
    """The protocol of `site`'s patients: the registry's (`registry` when read already), with what the site sets
    otherwise (SiteProtocol's fields that are not blank). Not saved: read it, change it with the protocol page. None:
    the registry's."""
    protocol = copy.copy(registry) if registry is not None else protocol_get()
    own = _site_protocol(site)
    if own is not None:
        for name in SITE_PROTOCOL_FIELDS:
            value = getattr(own, name)
            if value is not None and value != "":
                setattr(protocol, name, value)
    return protocol


def protocols_for(site_ids: Iterable[int | None]) -> dict[int | None, Protocol]:
    """protocol_for each of these sites (by id; None: the registry's), reading each site's own settings once: for a
    list of records of several sites."""
    wanted = set(site_ids)
    sites = Site.objects.select_related("protocol").in_bulk(wanted - {None})
    registry = protocol_get()
    return {site_id: protocol_for(sites.get(site_id), registry=registry) for site_id in wanted}


def protocols_of_every_site() -> dict[int | None, Protocol]:
    """protocols_for every site, and None's (the registry's)."""
    return protocols_for([*Site.objects.values_list("pk", flat=True), None])


def time_points_for(site: Site | None) -> list[TimePoint]:
    """The follow-up time points of `site`'s patients: the registry's, each with the site's own days where it sets
    them (SiteTimePoint). Not saved, as protocol_for."""
    time_points = list(TimePoint.objects.filter(protocol_id=PROTOCOL_PK))
    own = _site_protocol(site)
    if own is not None:
        days = {t.time_point_id: t for t in own.time_points.all()}
        for time_point in time_points:
            if (site_days := days.get(time_point.pk)) is not None:
                time_point.target_day = site_days.target_day
                time_point.window_start_day = site_days.window_start_day
                time_point.window_end_day = site_days.window_end_day
        time_points.sort(key=lambda time_point: time_point.target_day)
    return time_points


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
