"""API tokens in the change history: issued and revoked, with who did it, and never the key's hash."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.api.models import ApiToken
from apps.api.services import token_issue, token_revoke
from apps.audit.db import verify_chains
from apps.audit.models import ApiTokenEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _stored_rows(token: ApiToken) -> list[str]:
    """Every history row of the token, whole, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_jsonb(e)::text FROM audit_apitokenevent e WHERE pgh_obj_id = %s ORDER BY pgh_id", [token.pk]
        )
        return [row[0] for row in cursor.fetchall()]


def test_issuing_and_revoking_a_token_leaves_change_events_without_the_hash():
    # given
    user = UserFactory(role="staff")
    # when
    token, raw = token_issue(user=user, name="EHR interface", expires_at=timezone.now() + dt.timedelta(days=30))
    token_revoke(token)
    # then
    events = list(ApiTokenEvent.objects.filter(pgh_obj=token).order_by("pgh_id"))
    assert [(e.pgh_label, e.name, e.user_id, e.revoked_at is not None) for e in events] == [
        ("insert", "EHR interface", user.pk, False),
        ("update", "EHR interface", user.pk, True),
    ]
    assert "key_hash" not in {f.name for f in ApiTokenEvent._meta.fields}
    rows = _stored_rows(token)
    assert len(rows) == 2
    assert not any(token.key_hash in row or raw in row for row in rows)
    assert token.key_prefix in rows[0]  # what tells tokens apart is kept
    assert verify_chains()[0] == []


def test_a_token_issued_and_revoked_in_the_django_admin_is_in_the_history_with_the_admin(client, admin_user):
    # given
    holder = UserFactory(role="staff")
    client.force_login(admin_user)
    form = {"user": holder.pk, "name": "analysis", "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"}
    # when issued, then revoked with the admin's action
    client.post(reverse("admin:api_apitoken_add"), {**form, "read_only": "on"})
    token = ApiToken.objects.get(user=holder)
    client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    # then
    token.refresh_from_db()
    assert token.revoked_at is not None
    issued, revoked = ApiTokenEvent.objects.filter(pgh_obj=token).order_by("pgh_id")
    assert (issued.pgh_label, issued.created_by_id, issued.read_only) == ("insert", admin_user.pk, True)
    assert issued.pgh_context["user"] == admin_user.pk
    assert issued.pgh_context["url"] == reverse("admin:api_apitoken_add")
    assert (revoked.pgh_label, revoked.revoked_at) == ("update", token.revoked_at)
    assert revoked.pgh_context["url"] == reverse("admin:api_apitoken_changelist")
    assert not any(token.key_hash in row for row in _stored_rows(token))
