"""Locust users for benchmarks/bench_load.py: staff signing in (password, then the authenticator's code) and working.

Run by bench_load.py, which seeds the database, starts gunicorn and names the workload file (BENCH_LOAD_DATA: the
users and their authenticators' keys, patients to open, words to search for, follow-ups due today). Each request
is checked: a page must answer 200 and be the page asked for (not the sign-in page), a saved form must redirect;
anything else is an error, the form shown again with its messages included.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django_otp.oath import TOTP
from locust import HttpUser, between, events, task

DATA = json.loads(Path(os.environ["BENCH_LOAD_DATA"]).read_text())
CLINIC_ZONE = ZoneInfo(DATA["time_zone"])  # the answers form takes the clinic's local time
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_next_user = itertools.count()
_lock = threading.Lock()


@events.init.add_listener
def on_init(environment, **_kwargs) -> None:
    """At the end (after the users stopped, their last requests answered): the final figures and errors, to the file
    bench_load.py reads (BENCH_LOAD_RESULT)."""

    @environment.events.quit.add_listener
    def on_quit(**_kwargs) -> None:
        stats = environment.runner.stats
        result = {"stats": stats.serialize_stats(), "errors": list(stats.serialize_errors().values())}
        Path(os.environ["BENCH_LOAD_RESULT"]).write_text(json.dumps(result))


def csrf_token(html: str) -> str | None:
    found = CSRF.search(html)
    return found.group(1) if found else None


class Staff(HttpUser):
    """A front-desk or nurse user: searches and opens patients, and takes down a due follow-up's answers by phone."""

    wait_time = between(1, 2)

    def on_start(self) -> None:
        with _lock:
            n = next(_next_user)
        self.account = DATA["users"][n % len(DATA["users"])]
        # The patients of this user's site; its own follow-ups (none shared, so no two users answer the same one at
        # once), round and round.
        self.work = DATA["sites"][self.account["site"]]
        self.follow_ups = itertools.cycle(self.account["follow_ups"])
        self.sign_in()

    def form_post(self, url: str, fields: dict, *, name: str, expect: str) -> bool:
        """GET the form (its CSRF token), POST it; True when the answer is the redirect to a URL starting `expect`."""
        with self.client.get(url, name=f"{name} (form)", catch_response=True) as page:
            token = csrf_token(page.text) if page.status_code == 200 else None
            if token is None:
                page.failure(f"{page.status_code}, no form")
                return False
        fields = {"csrfmiddlewaretoken": token, **fields}
        with self.client.post(url, data=fields, name=name, allow_redirects=False, catch_response=True) as answer:
            location = answer.headers.get("Location", "")
            if answer.status_code != 302 or not location.startswith(expect):
                answer.failure(f"{answer.status_code} to {location!r}, expected a redirect to {expect}")
                return False
        return True

    def sign_in(self) -> None:
        account = self.account
        fields = {"username": account["username"], "password": DATA["password"]}
        if not self.form_post("/accounts/sign-in/", fields, name="sign in", expect="/"):
            raise RuntimeError(f"{account['username']} could not sign in")
        totp = TOTP(bytes.fromhex(account["key"]), step=30, t0=0, digits=6)
        code = f"{totp.token():06d}"
        if not self.form_post("/accounts/mfa/verify/", {"code": code}, name="second factor", expect="/"):
            raise RuntimeError(f"{account['username']} could not pass the second factor")

    def page(self, url: str, name: str, must_hold: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as page:
            if page.status_code != 200 or must_hold not in page.text:
                page.failure(f"{page.status_code}, {must_hold!r} not on the page")

    @task(4)
    def search_patients(self) -> None:
        self.page(f"/patients/?q={random.choice(self.work['searches'])}", "search patients", 'name="q"')  # noqa: S311

    @task(4)
    def open_patient(self) -> None:
        self.page(f"/patients/{random.choice(self.work['patients'])}/", "open patient", "Sign out")  # noqa: S311

    @task(1)
    def record_answers(self) -> None:
        """Open a due follow-up's answers form and save what the patient said on the phone."""
        url = f"/treatments/follow-ups/{next(self.follow_ups)}/answers/"
        fields = {
            "completed_at": datetime.now(CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M"),
            "collected_via": "phone",
            "pain_average": random.randint(0, 10),  # noqa: S311
            "pain_current": random.randint(0, 10),  # noqa: S311
            "pain_worst": random.randint(0, 10),  # noqa: S311
            "percent_relief": random.choice([0, 25, 50, 75]),  # noqa: S311
            "pgic": random.randint(1, 7),  # noqa: S311
            "new_problem": "false",
        }
        self.form_post(url, fields, name="save answers", expect="/treatments/")
