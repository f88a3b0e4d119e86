"""The Django admin's pages that show patient data write access events, as the registry's own pages do
(apps/audit/decorators.py): each ModelAdmin of a model holding patient data takes AccessLoggedAdmin first."""

from __future__ import annotations

from typing import cast

from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import Model

from .decorators import audit_access
from .models import Action, Category


class AccessLoggedAdmin:
    """One access event per admin list or search, change form, history and delete confirmation that answered with
    data. The add form shows no record, so it writes none; saves are in the change history."""

    audit_category: str = Category.CLINICAL
    model: type[Model]  # the ModelAdmin's it is mixed into

    def audit_patient(self, obj):
        """The patient a record belongs to: its patient, or its ablation's (the patients' admin: the record)."""
        if (patient := getattr(obj, "patient", None)) is not None:
            return patient
        ablation = getattr(obj, "ablation", None)
        return ablation.patient if ablation is not None else None

    def _logged(self, request, action: str, view, object_id: str | None = None):
        model_name = cast(str, self.model._meta.model_name)  # set for every model class

        def logged_view(request, **kwargs):
            if object_id is not None and (obj := self.get_object(request, unquote(object_id))) is not None:
                request.audit.subject(obj, patient=self.audit_patient(obj))
            return view()

        kwargs = {"object_id": object_id} if object_id is not None else {}
        return audit_access(action, self.audit_category, object_type=model_name)(logged_view)(request, **kwargs)

    def changelist_view(self, request, extra_context=None):
        # Never the search text itself: it may be a name. The path and action say a search was made.
        action = Action.SEARCH if request.GET.get(SEARCH_VAR) else Action.LIST
        view = super().changelist_view
        return self._logged(request, action, lambda: view(request, extra_context))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        view = super().change_view
        return self._logged(request, Action.VIEW, lambda: view(request, object_id, form_url, extra_context), object_id)

    def history_view(self, request, object_id, extra_context=None):
        view = super().history_view
        return self._logged(request, Action.VIEW, lambda: view(request, object_id, extra_context), object_id)

    def delete_view(self, request, object_id, extra_context=None):
        view = super().delete_view
        return self._logged(request, Action.VIEW, lambda: view(request, object_id, extra_context), object_id)
