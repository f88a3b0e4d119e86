from __future__ import annotations

from django import template

from apps.sms.selectors import inbox_waiting

register = template.Library()


@register.simple_tag
def sms_inbox_count() -> int:
    """How many patients' text messages wait for staff: the count in the worklist's "Text replies" tab."""
    return inbox_waiting().count()
