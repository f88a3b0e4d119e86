from __future__ import annotations

from django.db.models import QuerySet

from .models import Role, User


def physician_list() -> QuerySet[User]:
    """Active users holding the physician role, for the physician fields of procedure forms."""
    return User.objects.filter(groups__name=Role.PHYSICIAN, is_active=True).order_by("last_name", "username")
