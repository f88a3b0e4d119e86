"""PostgreSQL row-level security: the database's own guard of the site rule (README: "Sites"), behind the
application's (apps.patients.selectors.visible_to).

The clinical tables carry a policy that shows and accepts only the rows of the patients of the sites named by the
setting ``painreg.sites`` (comma-separated ids), or every row when it is unset or empty. Policies bind no superuser
and no table owner (the application's database user, which ran the migrations), only the role ``painreg_scoped``
(clinic 0007): so a request of a network's signed-in user runs, from SiteScopeMiddleware to the last byte of its
response, as that role with the setting at the user's sites, and is put back when the request finishes. Everything
else runs as the application's user, unscoped: Celery tasks, management commands, migrations, the patients' survey
links and SMS webhooks (no signed-in user), and a single clinic's requests (one site: nothing to hide).

A forgotten filter in a view then shows no other site's row: a query finds nothing, a write to another site's
patient fails with PostgreSQL's "new row violates row-level security policy".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, migrations
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponseBase

from apps.accounts.models import User

from .selectors import site_network, site_network_remembered, sites_of

SCOPED_ROLE = "painreg_scoped"
SITES_SETTING = "painreg.sites"
# What a user of no active site is scoped to: no site has id 0, so nothing matches (an empty value means "unscoped").
NO_SITE = "0"
# Set on a connection wrapper while it carries a request's scope, so that the request's end puts back only those.
_SCOPED = "painreg_site_scope"


def site_scope_policy(table: str, visible: str) -> migrations.RunSQL:
    """The policy of `table` (migrations of the app that owns it): the role painreg_scoped sees, inserts and updates
    a row when no scope is set or when `visible`, SQL over the row's columns (painreg_patient_visible(patient_id), an
    EXISTS on the parent row, whose own policy applies in turn), holds. The unscoped case is tested first, so that it
    costs no lookup."""
    rule = f"painreg_unscoped() OR ({visible})"
    return migrations.RunSQL(
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; "
        f"CREATE POLICY site_scope ON {table} USING ({rule}) WITH CHECK ({rule});",
        f"DROP POLICY site_scope ON {table}; ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;",
    )


def view_as_invoker(view: str) -> migrations.RunSQL:
    """A view reads its tables with its owner's rights, which policies do not bind: read with the reader's, so that the
    policies of its tables apply through it."""
    return migrations.RunSQL(
        f"ALTER VIEW {view} SET (security_invoker = true);", f"ALTER VIEW {view} RESET (security_invoker);"
    )


def _set(connection: BaseDatabaseWrapper, *, role: str, sites: str) -> None:
    """The connection's role ("none": its own user) and painreg.sites ("": unscoped), for the session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('role', %s, false), set_config(%s, %s, false)", [role, SITES_SETTING, sites])


def connection_scope(connection: BaseDatabaseWrapper, site_ids: list[int]) -> None:
    """From now on `connection` runs as painreg_scoped, seeing the patients of `site_ids` only (none when empty)."""
    _set(connection, role=SCOPED_ROLE, sites=",".join(str(pk) for pk in site_ids) or NO_SITE)
    setattr(connection, _SCOPED, True)


def connection_unscope(connection: BaseDatabaseWrapper) -> None:
    """Back to the connection's own user, with no scope (RESET ROLE; painreg.sites empty). A connection that cannot be
    put back is closed, so that no later request inherits the scope; one already closed carried it away."""
    if not getattr(connection, _SCOPED, False):
        return
    setattr(connection, _SCOPED, False)
    if connection.connection is None:
        return
    try:
        _set(connection, role="none", sites="")
    except DatabaseError:
        # A failed transaction (a test's, inside its atomic block) undoes the SET itself when it is rolled back.
        if not connection.in_atomic_block:
            connection.close()


@contextmanager
def unscoped() -> Iterator[None]:
    """Within the block, the connections run as the application's user, unscoped, and then as before: for the work a
    scoped user may start that is the whole registry's by design. The registry import, which admins manage for every
    site: it matches a patient by MRN across the network, and writes with COPY, which PostgreSQL refuses under
    row-level security. The figures of the dashboards, comparisons, drill-downs and Sites compared, which the
    engine keeps to the reader's sites itself (OutcomesFilters.site_ids) and whose network figures count every site.
    A transaction rolled back within undoes the switch itself."""
    with ExitStack() as stack:
        for alias in _scoped_aliases():
            stack.enter_context(_connection_unscoped(connections[alias]))
        yield


@contextmanager
def _connection_unscoped(connection: BaseDatabaseWrapper) -> Iterator[None]:
    if not getattr(connection, _SCOPED, False) or connection.connection is None:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [SITES_SETTING])
        sites = cursor.fetchone()[0]
    _set(connection, role="none", sites="")
    try:
        yield
    finally:
        if not connection.needs_rollback and connection.connection is not None:
            _set(connection, role=SCOPED_ROLE, sites=sites)


def _scoped_aliases() -> list[str]:
    return [DEFAULT_DB_ALIAS, *([str(settings.READ_REPLICA)] if settings.READ_REPLICA else [])]


def _unscope_all(**kwargs: Any) -> None:
    for alias in _scoped_aliases():
        connection_unscope(connections[alias])


# At a request's end (its response closed: a streamed CSV's after its last row, an error's page included).
request_finished.connect(_unscope_all, dispatch_uid="painreg_site_scope")


def request_scope(user: User) -> None:
    """The rest of this request runs scoped to `user`'s sites (sites_of), on the primary and on the replica if any,
    when the registry is a network; put back when the request finishes. Called for a session's user by
    SiteScopeMiddleware, and for a bearer token's by the API's authentication, which comes after the middleware."""
    if not site_network():
        return
    site_ids = list(sites_of(user).values_list("pk", flat=True))
    for alias in _scoped_aliases():
        connection_scope(connections[alias], site_ids)


class SiteScopeMiddleware:
    """In a network, a signed-in user's request runs scoped to their sites (connection_scope) on the primary and on the
    replica, if any; it is put back when the response is closed (request_finished), not when the view returns, so
    that a streamed response stays scoped while it streams. After the authentication and the second factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with site_network_remembered():
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                request_scope(user)
            return self.get_response(request)
