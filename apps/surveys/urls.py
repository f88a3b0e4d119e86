from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.answer, name="answer"),
    path("thanks/", views.thanks, name="thanks"),
    path("stop/", views.stop, name="stop"),
    path("<str:token>/", views.link_open, name="open"),
    path("<str:token>/stop/", views.link_open_stop, name="open_stop"),
]
