"""The API documentation page in a real browser: vendored Swagger UI, under the site's Content Security Policy,
reading the schema with the browser's session."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils.csp import build_policy
from playwright.sync_api import expect

from apps.accounts.models import Role
from tests.browser.conftest import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_a_signed_in_user_reads_the_api_docs(page):
    # given: the live server serves static files without the middleware, so add the site's CSP as WhiteNoise would
    UserFactory(role=Role.STAFF, username="sam.staff")
    policy = build_policy(settings.SECURE_CSP, nonce="test-nonce")
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": policy})

    page.route("**/static/api/docs.html", with_csp)
    sign_in(page, "sam.staff")
    # when
    page.goto("/static/api/docs.html")
    # then
    expect(page.get_by_text("/api/v1/patients/{public_id}/").first).to_be_visible()
    expect(page.locator(".opblock-get").first).to_be_visible()
    assert violations == []
    assert page.bad_responses == []
