from django.urls import path

from . import views

app_name = "blocks"

urlpatterns = [
    path("new/<uuid:patient_id>/", views.block_new, name="new"),
    path("<uuid:public_id>/", views.block_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.block_edit, name="edit"),
]
