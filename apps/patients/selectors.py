from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import CharField, F, Func, Model, Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.audit.models import PatientEvent  # type: ignore[attr-defined]  # made at run time (apps.audit.models)
from apps.clinic.selectors import site_network, sites_of

from .models import Patient, search_key

# ordering -> the columns it sorts by. Only orders an index answers over the whole registry (patient_name_order,
# the MRN's unique index): a page of 100,000 patients sorted on another column is a full sort on each request.
PATIENT_ORDERINGS = {"last_name": ("last_name", "first_name"), "mrn": ("mrn",)}


class _Unindexed(Func):
    """A text column as an expression no index answers: same values, same collation, same order."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def visible_to[M: Model](rows: QuerySet[M], *, user: User) -> QuerySet[M]:
    """The rows whose patient `user` may see and change: the one home of the rule. In a network (site_network), a
    patient of one of the user's active sites (none for a user of no site); with one site, every row, whoever asks
    (a superuser made by createsuperuser is no site's member). The rows' model names its paths to its patient in
    `patient_paths` ("patient__" when it names none), any of which may lead to a visible one (an adverse event's
    treatment or block)."""
    if not site_network():
        return rows
    sites = sites_of(user)
    paths = getattr(rows.model, "patient_paths", ("patient__",))
    return rows.filter(reduce(or_, (Q(**{f"{path}site__in": sites}) for path in paths)))


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """The patients `user` may see and change (visible_to)."""
    return visible_to(Patient.objects.all(), user=user)


def patient_ids_visible_to(user: User) -> QuerySet[Any, Any] | None:
    """The ids of the patients `user` may see (patients_visible_to), as a subquery, for rows that name their patient
    by id with no foreign key to follow (the audit trail's); None when every patient is visible (one site), so that
    those rows need no filter at all. A deleted patient is one of them when the site they had when deleted is one of
    the user's: the change history's record of the deletion holds it."""
    if not site_network():
        return None
    deleted = PatientEvent.objects.filter(pgh_label="delete", site__in=sites_of(user)).values("pgh_obj_id")
    return patients_visible_to(user).values("pk").union(deleted, all=True).order_by()


def patient_mrn_taken(*, mrn: str, other_than: int | None = None) -> bool:
    """Whether a patient other than `other_than` has `mrn`, at any site, even one `user` may not see: the MRN is
    unique across the registry. The database's patient_mrn_taken(), which row-level security does not narrow."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT patient_mrn_taken(%s, %s)", [mrn, other_than])
        return bool(cursor.fetchone()[0])


def patient_search(*, user: User, query: str = "", ordering: str = "last_name") -> QuerySet[Patient]:
    """Patients whose MRN starts with the query, or whose names hold words starting with each of its terms,
    ignoring case and accents ("jose gar" finds José García), in `ordering` (a key of PATIENT_ORDERINGS, `-` for
    descending), the primary key last. The page and the API both search here.

    Every query is tried as both: an MRN may hold letters, hyphens, dots or spaces (`WLK-0001`), so no pattern can
    tell an MRN from a name. The MRN is stored upper case (PatientForm.clean_mrn), so its prefix is too; the MRN's
    varchar_pattern_ops index answers the prefix and the trigram index the names, the two OR-ed in one bitmap scan.

    With a search term, the sort is over the matching rows (found through those indexes), not a walk of the
    name index until a page of matches turns up: the planner prefers that walk for a LIMIT, and it reads most of
    the registry when the term is rare."""
    patients = patients_visible_to(user)
    query = query.strip()
    if query:
        names = Q()
        for term in search_key(query).split():
            names &= Q(search_name__contains=" " + term)
        patients = patients.filter(Q(mrn__startswith=query.upper()) | names)
    descending = ordering.startswith("-")
    keys = [_Unindexed(F(c)) if query else F(c) for c in PATIENT_ORDERINGS[ordering.lstrip("-")]] + [F("pk")]
    return patients.order_by(*(key.desc() if descending else key.asc() for key in keys))


def patient_get_or_404(*, public_id: UUID | str, user: User) -> Patient:
    """The patient, if `user` may see them (patients_visible_to); else 404, never 403: another site's patient is not
    revealed to exist."""
    return get_object_or_404(patients_visible_to(user), public_id=public_id)
