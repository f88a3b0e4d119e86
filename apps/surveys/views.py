"""The patients' survey pages: no account, reached by a secure link, in the patient's language.

The token is in the URL only once: the first request moves the link into the session and redirects to a URL
without it, so it does not linger in the history, in logs or in a Referer. Unknown, expired, used and revoked
links all get the same neutral page and status, so a link cannot be probed."""

from __future__ import annotations

from functools import wraps

from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.instruments.services import InstrumentAnswerError

from .forms import BaselineSurveyForm, DiarySurveyForm, FollowUpSurveyForm, link_instruments_form
from .ratelimit import rate_limited, retry_after_seconds
from .selectors import link_by_public_id, link_by_token, link_is_open
from .services import LinkNotUsable, link_answer, link_mark_opened, patient_opt_out

# Who the access log names for requests made through a patient's link (no signed-in user).
SURVEY_ACTOR = "patient:survey-link"
SESSION_LINK = "survey_link"
SESSION_STOP = "survey_stop_link"
NEUTRAL_STATUS = 404


def patient_page(view):
    """Headers of every patient page: nothing cached, no Referer sent to any other site, not indexed."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


class _NoReferrerCsrfMiddleware(CsrfViewMiddleware):
    """Under Referrer-Policy: no-referrer a browser posts the survey form with "Origin: null" and no Referer, which
    Django's origin check refuses. The CSRF token must still match, and its cookie is SameSite=Lax, so a form
    posted from another site carries neither it nor the session that holds the link."""

    def _origin_verified(self, request):
        if request.META.get("HTTP_ORIGIN") == "null":
            return True
        return super()._origin_verified(request)


no_referrer_csrf_protect = decorator_from_middleware(_NoReferrerCsrfMiddleware)


def neutral(request):
    """One page for every link that does not open (bilingual: whose link it was is not known, or not said)."""
    return render(request, "surveys/neutral.html", status=NEUTRAL_STATUS)


def too_many(request):
    response = render(request, "surveys/too_many.html", status=429)
    response["Retry-After"] = str(retry_after_seconds())
    return response


def _session_link(request, key: str):
    public_id = request.session.get(key)
    return link_by_public_id(public_id=public_id) if public_id else None


@patient_page
@audit_access(Action.SURVEY_OPENED, Category.SURVEY, statuses=(302,), actor_label=SURVEY_ACTOR)
@require_http_methods(["GET"])
def link_open(request, token: str):
    if rate_limited(request, scope="open"):
        return too_many(request)
    now = timezone.now()
    link = link_by_token(token=token)
    if link is None:
        return neutral(request)
    # The same browser opening a link it has answered is told so; anyone else learns nothing.
    answered_here = link.used_at is not None and request.session.get(SESSION_LINK) == str(link.public_id)
    if not (link_is_open(link=link, now=now) or answered_here):
        return neutral(request)
    request.session[SESSION_LINK] = str(link.public_id)
    link_mark_opened(link=link, now=now)
    request.audit.subject(link, patient=link.patient)
    return redirect("surveys:answer")


@patient_page
@require_http_methods(["GET"])
def link_open_stop(request, token: str):
    if rate_limited(request, scope="open"):
        return too_many(request)
    link = link_by_token(token=token)
    # Opting out stays possible after the survey was answered or its window closed; not with a revoked link.
    if link is None or link.revoked_at is not None:
        return neutral(request)
    request.session[SESSION_STOP] = str(link.public_id)
    return redirect("surveys:stop")


@csrf_exempt  # checked by no_referrer_csrf_protect instead
@patient_page
@no_referrer_csrf_protect
@audit_access(Action.SURVEY_SUBMITTED, Category.SURVEY, methods=("POST",), statuses=(302,), actor_label=SURVEY_ACTOR)
@require_http_methods(["GET", "POST"])
def answer(request):
    link = _session_link(request, SESSION_LINK)
    if link is None:
        return neutral(request)
    if request.method == "POST" and rate_limited(request, scope="submit"):
        return too_many(request)
    patient = link.patient
    with translation.override(patient.language):
        context = {"first_name": patient.first_name, "link": link}
        if link.used_at is not None:
            return render(request, "surveys/answered.html", context)
        if not link_is_open(link=link, now=timezone.now()):
            return neutral(request)
        form_class = (
            BaselineSurveyForm if link.is_baseline else DiarySurveyForm if link.is_diary else FollowUpSurveyForm
        )
        form = form_class(request.POST or None)
        # After the pain questions, the instruments the schedule asks at this follow-up's time point.
        instruments = link_instruments_form(link=link, data=request.POST or None)
        if form.is_valid() & (instruments is None or instruments.is_valid()):
            try:
                link_answer(
                    link=link, answers=form.cleaned_data, instruments=instruments.answers() if instruments else ()
                )
            except LinkNotUsable:
                link.refresh_from_db()
                if link.used_at is not None:
                    return render(request, "surveys/answered.html", context)
                return neutral(request)
            except InstrumentAnswerError as error:
                assert instruments is not None
                instruments.add_service_errors(error.instrument, error.error)
            else:
                request.audit.subject(link, patient=link.patient)
                return redirect("surveys:thanks")
        context["form"] = form
        context["instruments"] = instruments
        return render(request, "surveys/survey.html", context)


@patient_page
@require_http_methods(["GET"])
def thanks(request):
    link = _session_link(request, SESSION_LINK)
    if link is None or link.used_at is None:
        return neutral(request)
    with translation.override(link.patient.language):
        return render(request, "surveys/thanks.html", {"first_name": link.patient.first_name})


@csrf_exempt  # checked by no_referrer_csrf_protect instead
@patient_page
@no_referrer_csrf_protect
@require_http_methods(["GET", "POST"])
def stop(request):
    link = _session_link(request, SESSION_STOP)
    if link is None:
        return neutral(request)
    patient = link.patient
    with translation.override(patient.language):
        if request.method == "POST":
            if rate_limited(request, scope="submit"):
                return too_many(request)
            patient_opt_out(patient=patient)
            return render(request, "surveys/stopped.html", {"first_name": patient.first_name})
        return render(request, "surveys/stop.html", {"first_name": patient.first_name})
