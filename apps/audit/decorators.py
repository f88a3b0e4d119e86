"""The one place that writes an access event for a page showing patient data.

    @role_required(CLINICAL)
    @audit_access(Action.VIEW, Category.DEMOGRAPHICS)
    def patient_detail(request, public_id):
        patient = ...
        request.audit.subject(patient)   # says which record; optional, the URL is recorded anyway
        ...

The decorator writes exactly one event per request that answered with data (2xx unless told otherwise), after the
view: a page that forgets `request.audit.subject(...)` is still logged, with the object id taken from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from .models import Action, Category
from .services import access_record


@dataclass
class AuditSubject:
    action: str
    category: str
    object_type: str = ""
    object_id: str = ""
    patient_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    skip: bool = False

    def subject(self, obj, *, patient=None, action: str | None = None, category: str | None = None, **detail) -> None:
        """Name the record shown. `patient` defaults to obj.patient, or obj itself when it is a patient."""
        if obj is not None:
            self.object_type = obj._meta.model_name
            self.object_id = str(getattr(obj, "public_id", None) or obj.pk)
            if patient is None:
                # Named by its label, not imported: the audit machinery sits below the clinical apps.
                patient = obj if obj._meta.label == "patients.Patient" else getattr(obj, "patient", None)
        if patient is not None:
            self.patient_id = patient.pk
        if action:
            self.action = action
        if category:
            self.category = category
        self.detail.update(detail)

    def not_shown(self) -> None:
        """The request showed no patient data after all (e.g. an empty form)."""
        self.skip = True


def audit_access(
    action: Action | str,
    category: Category | str,
    *,
    object_type: str = "",
    methods: tuple[str, ...] | None = None,
    statuses: range | tuple[int, ...] = range(200, 300),
    actor_label: str = "",
):
    """`methods`/`statuses` narrow what is recorded, e.g. a survey submission: POST answered by a redirect.
    `actor_label` names the actor of requests without a signed-in user (a patient's survey link)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            audit = AuditSubject(action=str(action), category=str(category), object_type=object_type)
            # The URL's own id, in case the view names nothing more precise.
            if kwargs:
                audit.object_id = str(next(iter(kwargs.values())))
            request.audit = audit
            response = view(request, *args, **kwargs)
            wanted = response.status_code in statuses and (methods is None or request.method in methods)
            if wanted and not audit.skip:
                access_record(
                    request=request,
                    actor_label=actor_label,
                    action=audit.action,
                    category=audit.category,
                    object_type=audit.object_type,
                    object_id=audit.object_id,
                    patient_id=audit.patient_id,
                    detail=audit.detail,
                )
            return response

        wrapper.audit_access = (str(action), str(category))
        return wrapper

    return decorator
