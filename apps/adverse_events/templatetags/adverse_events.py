from __future__ import annotations

from django import template

from apps.adverse_events.selectors import new_problems_waiting

register = template.Library()


@register.simple_tag
def new_problems_count() -> int:
    """How many patients' new problems wait for staff: the count in the worklist's "New problems" tab."""
    return new_problems_waiting().count()
