from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from apps.accounts.models import User

from .forms import BaseTimePointFormSet, ProtocolForm
from .models import Protocol, Site
from .selectors import site_only


@transaction.atomic
def protocol_update(*, form: ProtocolForm, time_points: BaseTimePointFormSet) -> Protocol:
    """Save the protocol and its time points together. New time points apply to ablations recorded from now
    on; existing follow-ups keep the windows they were scheduled with."""
    protocol: Protocol = form.save()
    time_points.save()
    return protocol


def user_sites_set(*, user: User, sites: Iterable[Site] | None) -> None:
    """The sites a user is a member of. None: no one chose (a single-clinic registry's user form has no choice),
    and the user joins the only site, so that a single clinic needs no extra step."""
    if sites is not None:
        user.sites.set(sites)
        return
    only = site_only()
    if only is not None:
        only.members.add(user)
