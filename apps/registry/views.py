"""The registry import as an admin page: upload, see the dry run with every problem, confirm. The checking and
writing are apps.registry.services.registry_import's, exactly as for `manage.py import_registry`."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.roles import CONFIGURE
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category

from .forms import RegistryUploadForm
from .models import ImportRun
from .services import registry_import
from .uploads import UploadError, upload_discard, upload_folder, upload_store

SESSION_KEY = "registry_upload"


@role_required(CONFIGURE)
# A dry run's problems may quote a cell of the files (a name, a date of birth): logged when one is shown.
@audit_access(Action.VIEW, Category.CLINICAL, object_type="registry_upload", methods=("POST",))
def import_upload(request):
    form = RegistryUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload_discard(request.session.pop(SESSION_KEY, ""))
        try:
            token = upload_store(form.cleaned_data["files"])
        except UploadError as error:
            form.add_error("files", str(error))
        else:
            result = registry_import(folder=upload_folder(token), dry_run=True, user=request.user)
            request.audit.subject(result.run)
            if result.ok:
                request.session[SESSION_KEY] = token
            else:
                upload_discard(token)
    if result is None:
        request.audit.not_shown()
    context = {"form": form, "result": result, "runs": ImportRun.objects.select_related("user")[:10]}
    return render(request, "registry/import.html", context)


@role_required(CONFIGURE)
@require_POST
def import_confirm(request):
    token = request.session.pop(SESSION_KEY, "")
    folder = upload_folder(token)
    if folder is None:
        messages.error(request, "Nothing to import: upload the files again.")
        return redirect("registry:import")
    result = registry_import(folder=folder, dry_run=False, user=request.user)
    upload_discard(token)
    if result.ok:
        messages.success(request, " ".join(["Imported:", *result.run.counts_in_words]))
    else:
        messages.error(request, f"{len(result.problems)} problem(s): nothing was imported. Upload the files again.")
    return redirect("registry:import")
