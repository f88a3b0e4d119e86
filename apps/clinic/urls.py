from django.urls import path

from . import views

app_name = "clinic"

urlpatterns = [path("protocol/", views.protocol_edit, name="protocol")]
