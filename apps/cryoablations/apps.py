from django.apps import AppConfig


class CryoablationsConfig(AppConfig):
    name = "apps.cryoablations"
