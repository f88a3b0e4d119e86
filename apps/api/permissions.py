"""Roles as in the pages: each view names, per HTTP method, the same permission the matching page checks
(apps.accounts.roles); a read-only token may only read."""

from __future__ import annotations

from rest_framework import permissions

from .models import ApiToken


class RolePermission(permissions.BasePermission):
    """The view's `required_perms` maps a method ("GET", "POST", "PATCH"...) to a permission name; a method the view
    does not list is refused."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        perms = getattr(view, "required_perms", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        perm = perms.get(method)
        return perm is not None and user.has_perm(perm)


class ReadOnlyTokenPermission(permissions.BasePermission):
    message = "This token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            return request.method in permissions.SAFE_METHODS
        return True
