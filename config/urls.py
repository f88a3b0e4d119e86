from django.contrib import admin
from django.urls import URLPattern, include, path
from django.views.generic import RedirectView

from apps.accounts.views import home
from apps.cryoablations import urls as cryoablation_urls
from apps.instruments import urls as instrument_urls
from apps.pages import urls as pages_urls
from apps.patients import urls as patient_urls

# A treatment's pages (every kind; the namespace keeps version 1's name), the follow-up worklist and answers form,
# the baseline questionnaires.
treatment_patterns = (
    cryoablation_urls.urlpatterns + pages_urls.cryoablation_patterns + instrument_urls.treatment_patterns
)


def moved_to_treatments(pattern: URLPattern) -> URLPattern:
    """Version 1's address of a treatment page (/cryoablations/...: bookmarks, links in notes) answers a permanent
    redirect to the same page under /treatments/, its query string kept."""
    view = RedirectView.as_view(pattern_name=f"cryoablations:{pattern.name}", permanent=True, query_string=True)
    return path(str(pattern.pattern), view, name=pattern.name)


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("apps.accounts.urls")),
    # The pages made of several apps' data are apps.pages' (it sits above the apps it reads), under the prefix and
    # namespace of the app they belong to: the patient's page, the follow-up worklist, the answers form.
    path("patients/", include((patient_urls.urlpatterns + pages_urls.patient_patterns, "patients"))),
    path("blocks/", include("apps.blocks.urls")),
    path("treatments/", include((treatment_patterns, "cryoablations"))),
    path("cryoablations/", include(([moved_to_treatments(p) for p in treatment_patterns], "cryoablations_moved"))),
    path("clinic/", include("apps.clinic.urls")),
    path("adverse-events/", include("apps.adverse_events.urls")),
    path("medications/", include("apps.medications.urls")),
    path("reminders/", include("apps.reminders.urls")),
    # Text messages from patients: the SMS provider's webhook (signed), and the staff inbox.
    path("sms/", include("apps.sms.urls")),
    # Patients' survey pages: public, reached by a secure link (short: it goes in an SMS).
    path("s/", include("apps.surveys.urls")),
    path("audit/", include("apps.pages.audit.urls")),
    path("reports/", include("apps.reports.urls")),
    path("registry/", include("apps.registry.urls")),
    path("api/", include("apps.api.urls")),
    path("fhir/", include("apps.api.fhir_urls")),
    path("admin/", admin.site.urls),
]

# Django's 404 page, except under /fhir/: an OperationOutcome there (apps.api.fhir_views).
handler404 = "apps.api.fhir_views.page_not_found"
handler500 = "apps.api.fhir_views.server_error"
