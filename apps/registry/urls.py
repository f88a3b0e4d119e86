from django.urls import path

from . import views

app_name = "registry"

urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("import/confirm/", views.import_confirm, name="import_confirm"),
    path("imports/", views.import_runs, name="runs"),
    path("imports/<uuid:public_id>/", views.import_run, name="run"),
]
