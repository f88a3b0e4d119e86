from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "apps.research"
    verbose_name = "Research export"
