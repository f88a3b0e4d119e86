from django.apps import AppConfig


class AdverseEventsConfig(AppConfig):
    name = "apps.adverse_events"
    verbose_name = "adverse events"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "AdverseEvent": "id public_id treatment block occurred_on category severity serious relatedness resolved_on "
        "notes source_response recorded_by external_id created_at updated_at",
        "ProblemReview": "id public_id response decision reason reviewed_by reviewed_at",
    }
