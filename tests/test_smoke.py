import pytest
from django.urls import reverse

from tests.factories import BlockFactory, make_ablation


@pytest.mark.django_db
def test_pages_render(staff_client):
    block = BlockFactory(diary=[(15, 2), (30, 1)])
    ablation = make_ablation(patient=block.patient)
    for url in [
        reverse("patients:list"),
        reverse("patients:list") + "?q=ana",
        reverse("patients:new"),
        reverse("patients:detail", args=[block.patient.public_id]),
        reverse("patients:edit", args=[block.patient.public_id]),
        reverse("blocks:new", args=[block.patient.public_id]),
        reverse("blocks:detail", args=[block.public_id]),
        reverse("blocks:edit", args=[block.public_id]),
        reverse("cryoablations:new", args=[block.patient.public_id]),
        reverse("cryoablations:detail", args=[ablation.public_id]),
        reverse("cryoablations:edit", args=[ablation.public_id]),
        reverse("cryoablations:worklist"),
        reverse("cryoablations:follow_up_answers", args=[ablation.follow_ups.first().public_id]),
    ]:
        assert staff_client.get(url).status_code == 200, url
