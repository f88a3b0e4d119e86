from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Synthetic demo data (the seed_demo command): the top layer, it writes every app's records."""

    name = "apps.demo"
    verbose_name = "Demo data"
