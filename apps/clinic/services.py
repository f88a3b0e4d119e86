from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from apps.accounts.models import User

from .forms import BaseTimePointFormSet, ProtocolForm, SiteProtocolForm
from .models import Protocol, Site, SiteProtocol, SiteTimePoint
from .selectors import site_only


@transaction.atomic
def protocol_update(*, form: ProtocolForm, time_points: BaseTimePointFormSet) -> Protocol:
    """Save the protocol and its time points together. New time points apply to ablations recorded from now
    on; existing follow-ups keep the windows they were scheduled with."""
    protocol: Protocol = form.save()
    time_points.save()
    return protocol


@transaction.atomic
def site_protocol_update(*, site: Site, form: SiteProtocolForm) -> SiteProtocol:
    """Save a site's own protocol and its own time point days (form.days: none, the registry's). They apply as the
    registry's changes do: to what is recorded from now on."""
    form.instance.site = site
    own: SiteProtocol = form.save()
    for time_point_id, days in form.days.items():
        if days is None:
            SiteTimePoint.objects.filter(site_protocol=own, time_point_id=time_point_id).delete()
            continue
        target, start, end = days
        SiteTimePoint.objects.update_or_create(
            site_protocol=own,
            time_point_id=time_point_id,
            defaults={"target_day": target, "window_start_day": start, "window_end_day": end},
        )
    return own


def user_sites_set(*, user: User, sites: Iterable[Site] | None) -> None:
    """The sites a user is a member of. None: no one chose (a single-clinic registry's user form has no choice),
    and the user joins the only site, so that a single clinic needs no extra step."""
    if sites is not None:
        user.sites.set(sites)
        return
    only = site_only()
    if only is not None:
        only.members.add(user)
