from django.urls import path

from . import views

app_name = "cryoablations"

urlpatterns = [
    path("new/<uuid:patient_id>/", views.ablation_new, name="new"),
    path("<uuid:public_id>/", views.ablation_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.ablation_edit, name="edit"),
    path("worklist/", views.worklist_view, name="worklist"),
    path("follow-ups/<uuid:public_id>/answers/", views.follow_up_answers, name="follow_up_answers"),
]
