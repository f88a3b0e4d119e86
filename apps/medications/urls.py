from django.urls import path

from . import views

app_name = "medications"

urlpatterns = [
    path("patient/<uuid:patient_id>/new/", views.statement_new, name="new"),
    path("patient/<uuid:patient_id>/reviewed/", views.list_reviewed, name="reviewed"),
    path("<uuid:public_id>/edit/", views.statement_edit, name="edit"),
    path("<uuid:public_id>/stop/", views.statement_stop, name="stop"),
]
