from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .roles import CLINICAL, CONFIGURE


@login_required
def home(request):
    if request.user.has_perm(CONFIGURE):
        return redirect("clinic:protocol")
    if request.user.has_perm(CLINICAL):
        return redirect("cryoablations:worklist")
    raise PermissionDenied
