from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import SurveyLink
from .services import token_hash


def link_by_token(*, token: str) -> SurveyLink | None:
    if not token or len(token) > 100:
        return None
    return SurveyLink.objects.select_related("patient").filter(token_hash=token_hash(token)).first()


def link_by_public_id(*, public_id: str) -> SurveyLink | None:
    try:
        return SurveyLink.objects.select_related("patient", "follow_up", "block").filter(public_id=public_id).first()
    except Exception:  # a malformed id in a tampered session
        return None


def link_is_open(*, link: SurveyLink, now: datetime) -> bool:
    return link.used_at is None and link.revoked_at is None and link.expires_at > now


def links_for_patient(*, patient_id: int) -> QuerySet[SurveyLink]:
    return SurveyLink.objects.filter(patient_id=patient_id)
