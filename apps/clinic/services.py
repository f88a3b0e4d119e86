from __future__ import annotations

from django.db import transaction

from .forms import BaseTimePointFormSet, ProtocolForm
from .models import Protocol


@transaction.atomic
def protocol_update(*, form: ProtocolForm, time_points: BaseTimePointFormSet) -> Protocol:
    """Save the protocol and its time points together. New time points apply to ablations recorded from now
    on; existing follow-ups keep the windows they were scheduled with."""
    protocol: Protocol = form.save()
    time_points.save()
    return protocol
