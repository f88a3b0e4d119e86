from django import template

from apps.clinic.rules import display_percent

register = template.Library()


@register.filter
def percent(value) -> str:
    """A percentage rounded half-up to one decimal; "—" when there is none."""
    return display_percent(value)
