from django.apps import AppConfig


class PagesConfig(AppConfig):
    """An app for its template tags ({% load audit %}); it has no models."""

    name = "apps.pages"
