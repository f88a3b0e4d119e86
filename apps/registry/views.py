"""The registry import as an admin page: upload, see the dry run with every problem, confirm. The checking and
writing are apps.registry.services.registry_import's, exactly as for `manage.py import_registry`. Past runs have a
list and a page each (ids and counts only, no patient data: see ImportRun)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.roles import CONFIGURE
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.clinic.models import Site

from .forms import RegistryUploadForm
from .selectors import import_run_list
from .services import registry_upload_confirm, registry_upload_discard, registry_upload_import

SESSION_KEY = "registry_upload"
SOURCE_SESSION_KEY = "registry_upload_source"
SITE_SESSION_KEY = "registry_upload_site"
RUNS_PAGE_SIZE = 50
RECENT_RUNS = 5


@role_required(CONFIGURE)
# A dry run's problems may quote a cell of the files (a name, a date of birth): logged when one is shown.
@audit_access(Action.VIEW, Category.CLINICAL, object_type="registry_upload", methods=("POST",))
def import_upload(request):
    form = RegistryUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        registry_upload_discard(token=request.session.pop(SESSION_KEY, ""))
        site = form.cleaned_data.get("site")
        upload = registry_upload_import(
            files=form.cleaned_data["files"], user=request.user, site=site, dry_run=True, keep=True
        )
        if upload.result is None:
            form.add_error("files", upload.error)
        else:
            result = upload.result
            request.audit.subject(result.run)
            if upload.token:
                request.session[SESSION_KEY] = upload.token
                request.session[SOURCE_SESSION_KEY] = upload.source
                request.session[SITE_SESSION_KEY] = site.pk if site else None
    if result is None:
        request.audit.not_shown()
    context = {"form": form, "result": result, "runs": import_run_list()[:RECENT_RUNS]}
    return render(request, "registry/import.html", context)


@role_required(CONFIGURE)
@require_POST
def import_confirm(request):
    token = request.session.pop(SESSION_KEY, "")
    source = request.session.pop(SOURCE_SESSION_KEY, "")
    site = Site.objects.filter(pk=request.session.pop(SITE_SESSION_KEY, None)).first()
    result = registry_upload_confirm(token=token, source=source, user=request.user, site=site)
    if result is None:
        messages.error(request, "Nothing to import: upload the files again.")
        return redirect("registry:import")
    if result.ok:
        messages.success(request, "Imported.")
        return redirect("registry:run", public_id=result.run.public_id)
    messages.error(request, f"{len(result.problems)} problem(s): nothing was imported. Upload the files again.")
    return redirect("registry:import")


@role_required(CONFIGURE)
def import_runs(request):
    page = Paginator(import_run_list(), RUNS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "registry/runs.html", {"page": page})


@role_required(CONFIGURE)
def import_run(request, public_id):
    run = get_object_or_404(import_run_list(), public_id=public_id)
    return render(request, "registry/run.html", {"run": run})
