from django.urls import path

from . import views

app_name = "reminders"

urlpatterns = [
    path("messages/<uuid:public_id>/resend/", views.resend, name="resend"),
    path("messages/<uuid:public_id>/delivered/", views.delivered, name="delivered"),
    path("follow-ups/<uuid:public_id>/send-now/", views.send_now, name="send_now"),
    path("follow-ups/<uuid:public_id>/link-for-call/", views.link_for_call, name="link_for_call"),
    path("links/<uuid:public_id>/revoke/", views.revoke_link, name="revoke_link"),
    path("treatments/<uuid:public_id>/baseline-send-now/", views.baseline_send_now, name="baseline_send_now"),
]
