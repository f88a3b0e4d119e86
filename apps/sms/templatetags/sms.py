from __future__ import annotations

from django import template

from apps.sms.selectors import inbox_waiting

register = template.Library()


@register.simple_tag(takes_context=True)
def sms_inbox_count(context: template.Context) -> int:
    """How many text messages the user may sort wait for staff: the count in the worklist's "Text replies" tab."""
    return inbox_waiting(user=context["request"].user).count()
