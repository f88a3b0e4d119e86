from django.urls import path

from . import views

app_name = "sms"

urlpatterns = [
    path("inbound/twilio/", views.twilio_inbound, name="twilio_inbound"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<uuid:public_id>/", views.inbox_item, name="inbox_item"),
]
