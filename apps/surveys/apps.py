from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "apps.surveys"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "SurveyResponse": "id public_id ablation follow_up completed_at pain_average pain_current pain_worst "
        "percent_relief pgic new_problem new_problem_text collected_via recorded_by recorded_at",
        # Never the token's hash: with it, the history would hold what a link is checked against.
        "SurveyLink": "id public_id patient follow_up block diary_minutes baseline_of expires_at created_at opened_at "
        "used_at revoked_at",
    }
