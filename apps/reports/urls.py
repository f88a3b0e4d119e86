from django.urls import path

from . import benchmark, views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("compare/", views.compare, name="compare"),
    path("sites/", benchmark.benchmark, name="benchmark"),
    path("procedures/", views.drill, name="drill"),
    path("runs/", views.run_list, name="runs"),
    path("runs/new/", views.run_new, name="run_new"),
    path("runs/<uuid:public_id>/", views.run_detail, name="run"),
    path("runs/<uuid:public_id>/status/", views.run_status, name="run_status"),
    path("runs/<uuid:public_id>/report.pdf", views.run_pdf, name="run_pdf"),
    path("runs/<uuid:public_id>/report.csv", views.run_csv, name="run_csv"),
    path("runs/<uuid:public_id>/report.xlsx", views.run_xlsx, name="run_xlsx"),
]
