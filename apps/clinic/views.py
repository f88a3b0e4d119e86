from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from apps.accounts.decorators import role_required
from apps.accounts.roles import CONFIGURE

from .forms import ProtocolForm, TimePointFormSet
from .selectors import protocol_get
from .services import protocol_update


@role_required(CONFIGURE)
def protocol_edit(request):
    protocol = protocol_get()
    form = ProtocolForm(request.POST or None, instance=protocol)
    time_points = TimePointFormSet(request.POST or None, instance=protocol, prefix="tp")
    if request.method == "POST" and form.is_valid() and time_points.is_valid():
        protocol_update(form=form, time_points=time_points)
        messages.success(request, "Protocol saved.")
        return redirect("clinic:protocol")
    return render(request, "clinic/protocol_form.html", {"form": form, "time_points": time_points})
