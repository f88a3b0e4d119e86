from django.contrib import admin
from django.urls import include, path

from apps.accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("apps.accounts.urls")),
    path("patients/", include("apps.patients.urls")),
    path("blocks/", include("apps.blocks.urls")),
    path("cryoablations/", include("apps.cryoablations.urls")),
    path("clinic/", include("apps.clinic.urls")),
    path("reminders/", include("apps.reminders.urls")),
    # Patients' survey pages: public, reached by a secure link (short: it goes in an SMS).
    path("s/", include("apps.surveys.urls")),
    path("audit/", include("apps.audit.urls")),
    path("reports/", include("apps.reports.urls")),
    path("registry/", include("apps.registry.urls")),
    path("api/", include("apps.api.urls")),
    path("fhir/", include("apps.api.fhir_urls")),
    path("admin/", admin.site.urls),
]

# Django's 404 page, except under /fhir/: an OperationOutcome there (apps.api.fhir_views).
handler404 = "apps.api.fhir_views.page_not_found"
handler500 = "apps.api.fhir_views.server_error"
