"""The request logs (runserver's, gunicorn's, Django's error log) carry no survey token: a token opens a patient's
survey, so like patient data it never reaches a log."""

from __future__ import annotations

import io
import logging
import secrets

import pytest

TOKEN = secrets.token_urlsafe(32)


@pytest.fixture
def console():
    """What the configured console handler (make run's terminal, a container's log) writes."""
    handler = next(h for h in logging.getLogger("django.server").handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db
def test_survey_links_that_do_not_open_are_logged_without_their_token(client, console, caplog):
    # given: someone opens a link that does not (or no longer) open, and tries to post to one
    caplog.set_level(logging.INFO)
    # when
    assert client.get(f"/s/{TOKEN}/").status_code == 404
    assert client.get(f"/s/{TOKEN}/stop/").status_code == 404
    assert client.post(f"/s/{TOKEN}/").status_code == 405
    # then: Django logged each refusal with its path, but not the token
    assert caplog.text.count("/s/") == 3
    assert console.getvalue().count("/s/") == 3
    assert TOKEN not in caplog.text
    assert TOKEN not in console.getvalue()
    assert TOKEN[:8] not in console.getvalue()


def test_request_lines_of_runserver_and_gunicorn_carry_no_survey_token(console):
    # when: runserver's request line, gunicorn's access line (its referer the link the survey page was opened from)
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /s/{TOKEN}/?lang=es HTTP/1.1", "302", "0")
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /s/{TOKEN}/stop/ HTTP/1.1", "302", "0")
    access = {"r": "GET /s/ HTTP/1.1", "s": "200", "f": f"https://pain.example.org/s/{TOKEN}/"}
    logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s "%(f)s"', access)
    # then
    lines = console.getvalue().splitlines()
    assert len(lines) == 3
    assert TOKEN not in console.getvalue()
    assert lines[0].endswith('"GET /s/[token]/ HTTP/1.1" 302 0')
    assert lines[1].endswith('"GET /s/[token]/stop/ HTTP/1.1" 302 0')
    assert lines[2].endswith('"GET /s/ HTTP/1.1" 200 "https://pain.example.org/s/[token]/"')


def test_the_survey_pages_own_paths_stay_readable(console):
    logging.getLogger("django.server").info('"%s" %s %s', "POST /s/ HTTP/1.1", "302", "0")
    logging.getLogger("django.server").info('"%s" %s %s', "GET /s/thanks/ HTTP/1.1", "200", "5")
    logging.getLogger("django.server").info('"%s" %s %s', "GET /s/stop/ HTTP/1.1", "200", "5")
    logging.getLogger("django.server").info('"%s" %s %s', "GET /patients/s/x/ HTTP/1.1", "200", "5")
    assert console.getvalue().splitlines()[1].endswith('"GET /s/thanks/ HTTP/1.1" 200 5')
    assert console.getvalue().splitlines()[2].endswith('"GET /s/stop/ HTTP/1.1" 200 5')
    assert console.getvalue().splitlines()[3].endswith('"GET /patients/s/x/ HTTP/1.1" 200 5')


def test_gunicorns_error_log_carries_no_survey_token(console):
    logging.getLogger("gunicorn.error").exception("Error handling request %s", f"/s/{TOKEN}/")
    assert console.getvalue().splitlines()[0].endswith("Error handling request /s/[token]/")
