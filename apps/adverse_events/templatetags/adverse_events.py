from __future__ import annotations

from django import template

from apps.adverse_events.selectors import new_problems_waiting

register = template.Library()


@register.simple_tag(takes_context=True)
def new_problems_count(context: template.Context) -> int:
    """How many new problems of the patients the user sees wait for staff: the count in the worklist's
    "New problems" tab."""
    return new_problems_waiting(user=context["request"].user).count()
