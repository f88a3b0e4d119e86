from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("access/", views.access_log, name="access_log"),
    path("access.csv", views.access_log_csv, name="access_log_csv"),
    path("changes/", views.change_history, name="change_history"),
    path("changes.csv", views.change_history_csv, name="change_history_csv"),
]
