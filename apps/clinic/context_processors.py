from django.conf import settings

from .selectors import site_network


def clinic(request) -> dict:
    # A callable: the template calls it only where it asks (the outcomes links, for those who see them), so no other
    # page pays its query.
    return {"clinic_name": settings.CLINIC_NAME, "site_network": site_network}
