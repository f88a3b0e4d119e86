"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

One browser per session, a fresh context (cookies, storage) per test. The live server needs a transactional
database, which pytest-django empties after each test (tests/conftest.py puts the clinic catalog back).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in this thread; Django would otherwise refuse ORM calls
# made by the tests while it runs.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "correct-horse-battery"  # that of tests.factories.UserFactory
TIMEOUT_MS = 5_000  # a page of this application answers in well under a second; fail fast when something hangs


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM_PATH}: apt-get install chromium, or set CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh browser context, pointed at the live server. `page.bad_responses` collects every
    request that failed or answered 4xx/5xx (static files included), for tests to assert on."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    bad_responses: list[str] = []

    def on_response(response) -> None:
        if response.status >= 400:
            bad_responses.append(f"{response.request.method} {response.url}: {response.status}")

    page.on("response", on_response)

    def on_failed(request) -> None:
        # ERR_ABORTED: the browser gave the request up itself (the page moved on before the favicon came, or a
        # download took over the navigation); an answer that failed is recorded above with its status.
        if request.failure != "net::ERR_ABORTED":
            bad_responses.append(f"{request.url}: {request.failure}")

    page.on("requestfailed", on_failed)
    page.bad_responses = bad_responses
    yield page
    context.close()


def field(page, label: str):
    """The form control labelled exactly `label`. Crispy-forms appends "*" to the labels of required fields and
    indents label text; a regular expression is matched against the raw text, whitespace included."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Through the sign-in form, as a person would."""
    page.goto("/")
    field(page, "Username").fill(username)
    field(page, "Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-out").wait_for(state="attached")  # the user menu's "Sign out": signed in


def one_time_code(device) -> str:
    """What the user's authenticator app shows now."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{totp.token():0{device.digits}d}"


def sign_in_with_code(page, user) -> None:
    """Through the sign-in form and then the code page, as a physician or an admin signs in (with an authenticator
    made for them here)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    page.goto("/")
    field(page, "Username").fill(user.username)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    field(page, "Code").fill(one_time_code(device))
    page.get_by_role("button", name="Verify").click()
    page.locator("#sign-out").wait_for(state="attached")  # the user menu's "Sign out": signed in
