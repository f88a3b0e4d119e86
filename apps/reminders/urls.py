from django.urls import path

from . import views

app_name = "reminders"

urlpatterns = [
    path("messages/<uuid:public_id>/resend/", views.resend, name="resend"),
    path("messages/<uuid:public_id>/delivered/", views.delivered, name="delivered"),
    path("links/<uuid:public_id>/revoke/", views.revoke_link, name="revoke_link"),
]
