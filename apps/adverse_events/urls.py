from django.urls import path

from . import views

app_name = "adverse_events"

urlpatterns = [
    path("new/treatment/<uuid:treatment_id>/", views.event_new_for_treatment, name="new_for_treatment"),
    path("new/block/<uuid:block_id>/", views.event_new_for_block, name="new_for_block"),
    path("<uuid:public_id>/edit/", views.event_edit, name="edit"),
    path("new-problems/", views.new_problems, name="new_problems"),
    path("new-problems/<uuid:response_id>/dismiss/", views.problem_dismiss_view, name="dismiss"),
]
