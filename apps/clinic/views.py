from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from apps.accounts.decorators import role_required
from apps.accounts.roles import CONFIGURE

from .forms import ProtocolForm, SiteProtocolForm, TimePointFormSet
from .models import Site, SiteProtocol
from .selectors import protocol_get, site_list, site_network, time_points_for
from .services import protocol_update, site_protocol_update


@role_required(CONFIGURE)
def protocol_edit(request):
    """The registry's protocol; in a network, with ?site=ID, that site's own (site_protocol_edit)."""
    if "site" in request.GET:
        return _site_protocol_edit(request, request.GET["site"])
    protocol = protocol_get()
    form = ProtocolForm(request.POST or None, instance=protocol)
    time_points = TimePointFormSet(request.POST or None, instance=protocol, prefix="tp")
    if request.method == "POST" and form.is_valid() and time_points.is_valid():
        protocol_update(form=form, time_points=time_points)
        messages.success(request, "Protocol saved.")
        return redirect("clinic:protocol")
    context = {"form": form, "time_points": time_points, "sites": _sites(), "site": None}
    return render(request, "clinic/protocol_form.html", context)


def _site_protocol_edit(request, site_id: str):
    """A site's own protocol, in a network: where it differs from the registry's."""
    if not site_network() or not site_id.isdecimal():
        raise Http404("No such site's protocol.")
    site = get_object_or_404(Site, pk=int(site_id))
    own = SiteProtocol.objects.filter(site=site).first() or SiteProtocol(site=site)
    form = SiteProtocolForm(
        request.POST or None, instance=own, registry=protocol_get(), time_points=time_points_for(None)
    )
    if request.method == "POST" and form.is_valid():
        site_protocol_update(site=site, form=form)
        messages.success(request, f"Protocol of {site.name} saved.")
        return redirect(f"{reverse('clinic:protocol')}?site={site.pk}")
    return render(request, "clinic/site_protocol_form.html", {"form": form, "sites": _sites(), "site": site})


def _sites() -> list[Site]:
    """The sites whose protocols the pages link to: a network's active ones; none for a single clinic."""
    return list(site_list()) if site_network() else []
