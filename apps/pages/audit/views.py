"""The audit pages, for admins: the access log and the change history, each a page and a CSV export.

Sites (README.md, "Sites"): in a network, an admin reads the events about their sites' patients
(apps.patients.selectors.patients_visible_to), never another site's, and the patient filter answers another site's
MRN as an unknown one ("No patient has this MRN."). The events about no patient (sign-ins and sign-outs, accounts
and roles, API tokens, the protocol, nerves and instruments, imports, reports) concern the whole registry's
configuration and accounts, which admins manage for every site: they stay visible to every admin. With one site,
every event is read, as before.
"""

from __future__ import annotations

import json

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.accounts.decorators import role_required
from apps.accounts.roles import CONFIGURE
from apps.audit.csvsafe import csv_stream
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category

from .forms import AuditFilterForm, ChangeHistoryFilterForm
from .presentation import RecordNamer, actor_name, object_type_name
from .selectors import (
    ACCESS_COLUMNS,
    CHANGE_ACTIONS,
    CHANGE_COLUMNS,
    access_events,
    access_rows,
    change_actor,
    change_event_models,
    change_rows,
    change_tracked_models,
    patient_mrns,
)

PAGE_SIZE = 100
AUDIT_PERMISSION = CONFIGURE  # admins only


# Past any log's end, and below PostgreSQL's bigint OFFSET limit however large the number typed.
MAX_PAGE = 1_000_000


def _page_number(request) -> int:
    value = request.GET.get("page", "1")
    return min(max(1, int(value)), MAX_PAGE) if value.isdecimal() else 1


def _refused(request, template: str, form) -> HttpResponse:
    """An invalid filter: the form with its field errors and no rows, status 400. Nothing is read, so no access
    event is written (the decorator records answers with data)."""
    return render(request, template, {"form": form, "invalid": True}, status=400)


def _refused_csv(form) -> HttpResponse:
    # Before any row is streamed: a download cut off mid-file would look complete.
    problems = "; ".join(f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
    return HttpResponse(f"Invalid filter. {problems}\n", status=400, content_type="text/plain; charset=utf-8")


@role_required(AUDIT_PERMISSION)
@audit_access(Action.LIST, Category.AUDIT, object_type="access_log")
def access_log(request):
    """The access events, newest first by default, a page at a time: in a network, those of the admin's sites'
    patients and those about no patient (the module's docstring)."""
    form = AuditFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return _refused(request, "audit/access_log.html", form)
    filters = form.filters()
    page = _page_number(request)
    # No COUNT(*) over millions of rows: one row more than a page says whether there is a next page.
    rows = list(access_events(filters=filters)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    query = request.GET.copy()
    query.pop("page", None)
    events = rows[:PAGE_SIZE]
    mrns = patient_mrns(ids={e.patient_id for e in events if e.patient_id})
    for event in events:
        event.patient_mrn = mrns.get(event.patient_id, "")
        event.object_name = object_type_name(event.object_type)
        event.actor_name = actor_name(event.actor_label)
    context = {
        "form": form,
        "events": events,
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "query": query.urlencode(),
    }
    return render(request, "audit/access_log.html", context)


def _csv_response(name: str, lines) -> StreamingHttpResponse:
    response = StreamingHttpResponse((line.encode("utf-8") for line in lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(AUDIT_PERMISSION)
@audit_access(Action.EXPORT, Category.AUDIT, object_type="access_log")
def access_log_csv(request):
    """The access log's rows as CSV, scoped by site as the page (the module's docstring)."""
    form = AuditFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return _refused_csv(form)
    filters = form.filters()
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    return _csv_response("access-log", csv_stream(ACCESS_COLUMNS, access_rows(filters=filters)))


@role_required(AUDIT_PERMISSION)
@audit_access(Action.LIST, Category.AUDIT, object_type="change_history")
def change_history(request):
    """The change history, newest first, one page: in a network, the changes to the admin's sites' patients and
    their records, and those to records of no patient (accounts, roles, configuration; the module's docstring)."""
    form = ChangeHistoryFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return _refused(request, "audit/change_history.html", form)
    filters = form.filters()
    rows = []
    for when, *change, record, by, values in _changes_in_words(change_rows(**_change_filters(filters))):
        action = change[2]
        rows.append(
            {"when": when, "record": record, "action": CHANGE_ACTIONS.get(action, action), "by": by, "values": values}
        )
        if len(rows) >= PAGE_SIZE:
            break
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    return render(request, "audit/change_history.html", {"form": form, "rows": rows, "query": request.GET.urlencode()})


# The change history's CSV: the trail's own columns (object type and id, JSON before and after) for programs, then
# the same words as the page for people.
CHANGE_CSV_COLUMNS = [*CHANGE_COLUMNS, "record", "by", "changes"]


def _changes_in_words(rows):
    """Each change-history row followed by its record's name, who made it and its values, in words."""
    tracked = change_tracked_models()
    namer = RecordNamer(event_models=change_event_models())
    for row in rows:
        _when, object_type, object_id, action, username, context, before, after = row
        before, after = _json(before), _json(after)
        model = tracked.get(object_type)
        if model is None:
            record, values = f"{object_type} {object_id}", ""
        else:
            record = namer.name(model, after or before, object_id)
            values = namer.changes(model, action, before, after)
        yield (*row, record, change_actor(username, _json(context)), values)


def _json(value):
    # jsonb columns read through a raw cursor arrive as text (Django decodes JSON itself, in its fields).
    return json.loads(value) if isinstance(value, str) else value


def _change_filters(filters) -> dict:
    return {
        "user": filters.user,
        "patient": filters.patient,
        "action": filters.action,
        "object_type": filters.object_type,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "visible_patients": filters.visible_patients,
    }


@role_required(AUDIT_PERMISSION)
@audit_access(Action.EXPORT, Category.AUDIT, object_type="change_history")
def change_history_csv(request):
    """The change history as CSV, scoped by site as the page (the module's docstring)."""
    form = ChangeHistoryFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return _refused_csv(form)
    filters = form.filters()
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    return _csv_response(
        "change-history",
        csv_stream(CHANGE_CSV_COLUMNS, _changes_in_words(change_rows(**_change_filters(filters), times_as_text=True))),
    )
