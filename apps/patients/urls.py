from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_new, name="new"),
    path("<uuid:public_id>/", views.patient_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/print/", views.patient_print, name="print"),
]
