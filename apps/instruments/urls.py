from django.urls import path

from . import views

# Mounted under a treatment's prefix and namespace (config/urls.py): cryoablations:baseline_answers.
treatment_patterns = [
    path("<uuid:public_id>/baseline/", views.baseline_answers, name="baseline_answers"),
]
