from __future__ import annotations

from .roles import CLINICAL, CONFIGURE


def roles(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"can_clinical": user.has_perm(CLINICAL), "can_configure": user.has_perm(CONFIGURE)}
