from __future__ import annotations

from uuid import UUID

from django.db.models import CharField, F, Func, Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import Patient, search_key

# ordering -> the columns it sorts by. Only orders an index answers over the whole registry (patient_name_order,
# the MRN's unique index): a page of 100,000 patients sorted on another column is a full sort on each request.
PATIENT_ORDERINGS = {"last_name": ("last_name", "first_name"), "mrn": ("mrn",)}


class _Unindexed(Func):
    """A text column as an expression no index answers: same values, same collation, same order."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def patient_search(*, query: str = "", ordering: str = "last_name") -> QuerySet[Patient]:
    """Patients whose MRN starts with the query, or whose names hold words starting with each of its terms,
    ignoring case and accents ("jose gar" finds José García), in `ordering` (a key of PATIENT_ORDERINGS, `-` for
    descending), the primary key last. The page and the API both search here.

    Every query is tried as both: an MRN may hold letters, hyphens, dots or spaces (`WLK-0001`), so no pattern can
    tell an MRN from a name. The MRN is stored upper case (PatientForm.clean_mrn), so its prefix is too; the MRN's
    varchar_pattern_ops index answers the prefix and the trigram index the names, the two OR-ed in one bitmap scan.

    With a search term, the sort is over the matching rows (found through those indexes), not a walk of the
    name index until a page of matches turns up: the planner prefers that walk for a LIMIT, and it reads most of
    the registry when the term is rare."""
    patients = Patient.objects.all()
    query = query.strip()
    if query:
        names = Q()
        for term in search_key(query).split():
            names &= Q(search_name__contains=" " + term)
        patients = patients.filter(Q(mrn__startswith=query.upper()) | names)
    descending = ordering.startswith("-")
    keys = [_Unindexed(F(c)) if query else F(c) for c in PATIENT_ORDERINGS[ordering.lstrip("-")]] + [F("pk")]
    return patients.order_by(*(key.desc() if descending else key.asc() for key in keys))


def patient_get_or_404(*, public_id: UUID | str) -> Patient:
    return get_object_or_404(Patient, public_id=public_id)
