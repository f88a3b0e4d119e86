"""Roles as in the pages: each view names, per HTTP method, the same permission the matching page checks
(apps.accounts.roles); a read-only token may only read."""

from __future__ import annotations

from rest_framework import permissions

from .models import ApiToken


class RolePermission(permissions.BasePermission):
    """The view's `required_perms` maps a method ("GET", "POST", "PATCH"...) to a permission name. A method the view
    does not handle is answered 405, as the pages do, once the caller holds one of its permissions (403 before)."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        perms = getattr(view, "required_perms", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        if method not in perms and not hasattr(view, request.method.lower()):
            return any(user.has_perm(perm) for perm in perms.values())
        perm = perms.get(method)
        return perm is not None and user.has_perm(perm)


class ReadOnlyTokenPermission(permissions.BasePermission):
    message = "This token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            return request.method in permissions.SAFE_METHODS
        return True
