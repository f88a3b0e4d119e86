from django.urls import path

from . import views

app_name = "cryoablations"

urlpatterns = [
    path("new/<uuid:patient_id>/", views.ablation_new, name="new"),
    path("<uuid:public_id>/", views.ablation_detail, name="detail"),
]
