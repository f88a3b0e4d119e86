from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "apps.surveys"
