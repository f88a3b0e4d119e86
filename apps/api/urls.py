from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated

from . import views

app_name = "api"

urlpatterns = [
    path("v1/patients/", views.patient_list_view, name="patient_list"),
    path("v1/patients/<uuid:public_id>/", views.patient_detail, name="patient_detail"),
    path("v1/blocks/", views.block_list_view, name="block_list"),
    path("v1/blocks/<uuid:public_id>/", views.block_detail, name="block_detail"),
    path("v1/ablations/", views.ablation_list_view, name="ablation_list"),
    path("v1/ablations/<uuid:public_id>/", views.ablation_detail, name="ablation_detail"),
    path("v1/treatments/", views.treatment_list_view, name="treatment_list"),
    path("v1/treatments/<uuid:public_id>/", views.treatment_detail, name="treatment_detail"),
    path("v1/adverse-events/", views.adverse_event_list_view, name="adverse_event_list"),
    path("v1/adverse-events/<uuid:public_id>/", views.adverse_event_detail, name="adverse_event_detail"),
    path("v1/medication-statements/", views.medication_statement_list_view, name="medication_statement_list"),
    path("v1/instrument-answers/", views.instrument_answer_list_view, name="instrument_answer_list"),
    path("v1/follow-ups/", views.follow_up_list_view, name="follow_up_list"),
    path("v1/follow-ups/<uuid:public_id>/", views.follow_up_detail, name="follow_up_detail"),
    path("v1/follow-ups/<uuid:public_id>/responses/", views.follow_up_answers, name="follow_up_answers"),
    path("v1/reports/outcomes/", views.outcomes_report, name="outcomes_report"),
    path("v1/registry/imports/", views.registry_import_view, name="registry_import"),
    # The OpenAPI 3 schema: no patient data, but only for those who can sign in.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
]
