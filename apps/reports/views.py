from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.roles import CLINICAL, OUTCOMES
from apps.accounts.sessions import passive_request
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.replica import replica_reads
from apps.clinic.row_security import unscoped
from apps.clinic.selectors import protocol_get

from .channels import channel_figures
from .forms import CompareFilterForm, OutcomesFilterForm, ReportRequestForm, dashboard_form
from .models import ReportRun
from .outcomes import FUNNEL_TIME_POINT
from .presentation import channel_rows, compare_context, dashboard_context, drill_title, report_run_filters_in_words
from .selectors import compare_get, dashboard_get, drill_ids, drill_procedures, report_run_get, report_run_list
from .services import report_files_root, report_run_request, report_title

DRILL_LIMIT = 1000  # procedures listed on one drill-down page; the count above says how many there are
RUNS_PER_PAGE = 25


@role_required(OUTCOMES)
@audit_access(Action.VIEW, Category.REPORT, object_type="dashboard")
def dashboard(request):
    form = dashboard_form(request)
    request.audit.subject(None, filters=request.GET.urlencode()[:500])
    context = {"form": form}
    # Bad filters show no figures: figures without the filter asked for would be read as its figures.
    if form.is_valid():
        with replica_reads(), unscoped():
            # Figures link to the treatments behind them for readers of patients (not a network analyst's).
            links = request.user.has_perm(CLINICAL)
            context.update(dashboard_context(dashboard_get(filters=form.filters()), links=links))
            context["channel_rows"] = channel_rows(channel_figures(filters=form.filters()))
    return render(request, "reports/dashboard.html", context)


@role_required(OUTCOMES)
@audit_access(Action.VIEW, Category.REPORT, object_type="compare_treatments")
def compare(request):
    """The treatment kinds side by side: the dashboard's filters but the treatment, every figure the report's."""
    form = dashboard_form(request, CompareFilterForm)
    request.audit.subject(None, filters=request.GET.urlencode()[:500])
    context = {"form": form}
    if form.is_valid():
        with replica_reads(), unscoped():
            context.update(compare_context(compare_get(filters=form.filters())))
    return render(request, "reports/compare.html", context)


@role_required(OUTCOMES)
@audit_access(Action.LIST, Category.REPORT, object_type="drill_down")
def drill(request):
    """The treatments or blocks behind one figure, with their patients: for readers of patients only (a network
    analyst sees the figures and no patient)."""
    if not request.user.has_perm(CLINICAL):
        raise PermissionDenied
    form = OutcomesFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        raise Http404("Bad filters.")
    # The network's pooled figures list only the patients of the reader's own sites (form.site_ids).
    filters = replace(form.filters(), site_ids=form.site_ids(patients=True))
    # Without a figure: every ablation at 3 months (the funnel's time point) of the filters.
    figure, measure = request.GET.get("figure", "response"), request.GET.get("measure", "ablations")
    time_point, band = request.GET.get("time_point", FUNNEL_TIME_POINT), request.GET.get("band", "")
    instrument = request.GET.get("instrument", "")
    if time_point not in set(protocol_get().time_points.values_list("code", flat=True)):
        return HttpResponseBadRequest("time_point: no such time point in the protocol.", content_type="text/plain")
    with replica_reads():
        with unscoped():  # the figures' facts (filtered by the form's sites) and rules
            kind, ids = drill_ids(
                filters=filters, figure=figure, measure=measure, time_point=time_point, band=band, instrument=instrument
            )
        # The patients listed: the reader's sites' (form.site_ids), and the database's row security says the same.
        procedures = list(drill_procedures(kind=kind, ids=ids)[:DRILL_LIMIT])
    request.audit.subject(None, listed=sorted({p.patient_id for p in procedures}), figure=figure, measure=measure)
    back = reverse("reports:dashboard") + "?" + request.GET.urlencode()
    context = {
        "kind": kind,
        "count": len(ids),
        "procedures": procedures,
        "title": drill_title(
            filters=filters, figure=figure, measure=measure, time_point=time_point, band=band, instrument=instrument
        ),
        "filters": filters,
        "pooled": form.pooled,
        "back": back,
    }
    return render(request, "reports/drill.html", context)


@role_required(OUTCOMES)
@require_POST
def run_new(request):
    form = ReportRequestForm(request.POST, user=request.user)
    if not form.is_valid():
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, "The report could not be asked for: " + problems)
        return redirect("reports:dashboard")
    run = report_run_request(requested_by=request.user, **form.cleaned_filters())
    return redirect("reports:run", run.public_id)


@role_required(OUTCOMES)
@audit_access(Action.LIST, Category.REPORT, object_type="report_run")
def run_list(request):
    """The report runs asked for so far (by anyone, and the monthly ones): a way back to a report's files. Logged
    like a run's own page, though it shows no patient."""
    page = Paginator(report_run_list(user=request.user), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    runs = [(run, report_run_filters_in_words(run)) for run in page]
    return render(request, "reports/runs.html", {"page": page, "runs": runs})


@role_required(OUTCOMES)
@audit_access(Action.VIEW, Category.REPORT, object_type="report_run")
def run_detail(request, public_id):
    run = report_run_get(public_id=public_id, user=request.user)
    request.audit.subject(run)
    return render(request, "reports/run.html", {"run": run, "title": report_title(run)})


@role_required(OUTCOMES)
@passive_request
def run_status(request, public_id):
    """Polled by static/js/report-progress.js: passive, so a page left open still signs out when idle."""
    run = report_run_get(public_id=public_id, user=request.user)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "step": run.step,
            "finished": run.finished,
        },
        headers={"Cache-Control": "no-store"},
    )


FORMATS = {
    "pdf": ("pdf_file", "application/pdf"),
    "csv": ("csv_file", "text/csv; charset=utf-8"),
    "xlsx": ("xlsx_file", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _download(request, public_id, fmt: str):
    run = report_run_get(public_id=public_id, user=request.user)
    name = getattr(run, FORMATS[fmt][0])
    if run.status != ReportRun.Status.DONE or not name:
        raise Http404("Not built yet.")
    path = (report_files_root() / name).resolve()
    if not path.is_relative_to(report_files_root().resolve()) or not path.exists():
        raise Http404("File not found.")
    request.audit.subject(run, format=fmt)
    response = FileResponse(
        Path(path).open("rb"),  # noqa: SIM115 - FileResponse closes it once sent
        as_attachment=True,
        filename=f"outcomes-report-{run.created_at:%Y%m%d-%H%M}.{fmt}",
        content_type=FORMATS[fmt][1],
    )
    response["Cache-Control"] = "no-store"
    return response


@role_required(OUTCOMES)
@audit_access(Action.EXPORT, Category.REPORT, object_type="report_run")
def run_pdf(request, public_id):
    return _download(request, public_id, "pdf")


@role_required(OUTCOMES)
@audit_access(Action.EXPORT, Category.REPORT, object_type="report_run")
def run_csv(request, public_id):
    return _download(request, public_id, "csv")


@role_required(OUTCOMES)
@audit_access(Action.EXPORT, Category.REPORT, object_type="report_run")
def run_xlsx(request, public_id):
    return _download(request, public_id, "xlsx")
