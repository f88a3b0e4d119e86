from django.urls import path

from . import views

# Mounted with the apps' own URLs, under their prefixes and namespaces (config/urls.py): the names stay
# patients:detail, cryoablations:worklist and so on.
patient_patterns = [
    path("<uuid:public_id>/", views.patient_detail, name="detail"),
    path("<uuid:public_id>/print/", views.patient_print, name="print"),
]
cryoablation_patterns = [
    path("<uuid:public_id>/edit/", views.ablation_edit, name="edit"),
    path("worklist/", views.worklist_view, name="worklist"),
    path("follow-ups/<uuid:public_id>/answers/", views.follow_up_answers, name="follow_up_answers"),
]
