from django.urls import path

from . import fhir_views

app_name = "fhir"

urlpatterns = [
    path("Patient/<uuid:public_id>/$everything", fhir_views.patient_everything_view, name="patient_everything"),
]
