from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.accounts.decorators import role_required
from apps.accounts.roles import CONFIGURE

from .csvsafe import csv_stream
from .decorators import audit_access
from .forms import AuditFilterForm
from .models import Action, Category
from .selectors import ACCESS_COLUMNS, CHANGE_COLUMNS, access_events, access_rows, change_rows

PAGE_SIZE = 100
AUDIT_PERMISSION = CONFIGURE  # admins only


# Past any log's end, and below PostgreSQL's bigint OFFSET limit however large the number typed.
MAX_PAGE = 1_000_000


def _page_number(request) -> int:
    value = request.GET.get("page", "1")
    return min(max(1, int(value)), MAX_PAGE) if value.isdecimal() else 1


@role_required(AUDIT_PERMISSION)
@audit_access(Action.LIST, Category.AUDIT, object_type="access_log")
def access_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if request.GET else AuditFilterForm({}).filters()
    page = _page_number(request)
    # No COUNT(*) over millions of rows: one row more than a page says whether there is a next page.
    rows = list(access_events(filters=filters)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "events": rows[:PAGE_SIZE],
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
    filters = AuditFilterForm(request.GET).filters()
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    return _csv_response("access-log", csv_stream(ACCESS_COLUMNS, access_rows(filters=filters)))


@role_required(AUDIT_PERMISSION)
@audit_access(Action.LIST, Category.AUDIT, object_type="change_history")
def change_history(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if request.GET else AuditFilterForm({}).filters()
    rows = []
    for row in change_rows(**_change_filters(filters)):
        rows.append(row)
        if len(rows) >= PAGE_SIZE:
            break
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    return render(request, "audit/change_history.html", {"form": form, "rows": rows, "query": request.GET.urlencode()})


def _change_filters(filters) -> dict:
    return {
        "user": filters.user,
        "patient": filters.patient,
        "object_type": filters.object_type,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
    }


@role_required(AUDIT_PERMISSION)
@audit_access(Action.EXPORT, Category.AUDIT, object_type="change_history")
def change_history_csv(request):
    filters = AuditFilterForm(request.GET).filters()
    request.audit.subject(None, patient=filters.patient, filters=request.GET.urlencode()[:500])
    return _csv_response("change-history", csv_stream(CHANGE_COLUMNS, change_rows(**_change_filters(filters))))
