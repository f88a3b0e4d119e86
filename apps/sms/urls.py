from django.urls import path

from . import views

app_name = "sms"

urlpatterns = [
    path("inbound/twilio/", views.twilio_inbound, name="twilio_inbound"),
]
