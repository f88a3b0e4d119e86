"""The staff pages of a treatment of any kind: the form (the kind first, only its details), the pages under
/treatments/ and version 1's addresses redirecting there, the details in words, the repeat chain."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.cryoablations.forms import TreatmentForm
from apps.cryoablations.models import DETAILS, KIND_DETAILS, Cryoablation, FollowUp, Kind
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()

# A value of each detail, as a form posts it, and as the row stores it.
DETAIL_VALUES = {
    "device": ("Iovera", "Iovera"),
    "probe": ("190", "190"),
    "cycles": ("3", 3),
    "freeze_seconds": ("90", 90),
    "cannula_gauge": ("18", 18),
    "active_tip_mm": ("10", 10),
    "temperature_c": ("80", 80),
    "lesion_seconds": ("90", 90),
    "lesions": ("3", 3),
    "leads": ("2", 2),
    "removed_on": ((TODAY - dt.timedelta(days=2)).isoformat(), TODAY - dt.timedelta(days=2)),
}
# A detail each kind does not record.
FOREIGN = {
    Kind.CRYOABLATION: "temperature_c",
    Kind.RF_CONVENTIONAL: "freeze_seconds",
    Kind.RF_COOLED: "leads",
    Kind.RF_PULSED: "temperature_c",
    Kind.PNS_TEMPORARY: "lesions",
    Kind.PNS_PERMANENT: "removed_on",
}


def as_words(html: str) -> str:
    """A page's text with its links as [text](href), tags dropped and spaces collapsed."""
    html = re.sub(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', r"[\2](\1)", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"\[ *(.*?) *\]", r"[\1]", text)


def treatment_data(physician, kind, **overrides):
    """A treatment form as a browser with the script sends it: the common fields and the kind's details only."""
    data = {
        "kind": kind,
        "performed_on": (TODAY - dt.timedelta(days=14)).isoformat(),
        "physician": physician.pk,
        "nerve": nerve().pk,
        "side": "left",
        "guidance": "ultrasound",
        "baseline_nrs": "7",
        "qualifying_block": "",
    }
    data |= {name: DETAIL_VALUES[name][0] for name in KIND_DETAILS[kind]}
    return data | overrides


@pytest.mark.parametrize("kind", Kind.values)
def test_each_kind_records_its_own_details_and_leaves_the_others_empty(staff_client, physician, kind):
    # given
    patient = PatientFactory()
    # when
    response = staff_client.post(
        reverse("cryoablations:new", args=[patient.public_id]), treatment_data(physician, kind)
    )
    # then
    treatment = Cryoablation.objects.get()
    assert response.status_code == 302
    assert treatment.kind == kind
    for name in DETAILS:
        want = (
            DETAIL_VALUES[name][1] if name in KIND_DETAILS[kind] else Cryoablation._meta.get_field(name).get_default()
        )
        assert getattr(treatment, name) == want, name
    page = staff_client.get(response["Location"])
    assert f"{Kind(kind).label} saved; 5 follow-ups scheduled." in page.text


@pytest.mark.parametrize(("kind", "foreign"), FOREIGN.items())
def test_a_detail_of_another_kind_is_refused_naming_it_and_nothing_is_written(staff_client, physician, kind, foreign):
    # given a form sent without the script, a detail of another kind filled in
    patient = PatientFactory()
    data = treatment_data(physician, kind, **{foreign: DETAIL_VALUES[foreign][0]})
    # when
    response = staff_client.post(reverse("cryoablations:new", args=[patient.public_id]), data)
    # then
    assert response.status_code == 200
    assert response.context["form"].errors[foreign] == [f"Not recorded for {Kind(kind).label.lower()}: leave it empty."]
    assert "Nothing was saved" in response.text
    assert not Cryoablation.objects.exists()


def test_leads_removed_before_the_treatment_are_refused(staff_client, physician):
    patient = PatientFactory()
    data = treatment_data(
        physician, Kind.PNS_TEMPORARY, removed_on=(TODAY - dt.timedelta(days=15)).isoformat()
    )  # the treatment was 14 days ago
    response = staff_client.post(reverse("cryoablations:new", args=[patient.public_id]), data)
    assert response.context["form"].errors["removed_on"] == ["The leads cannot be removed before the treatment date."]
    assert not Cryoablation.objects.exists()


def test_the_form_offers_the_kinds_in_words_cryoablation_first_with_its_usual_cycles(staff_client):
    # given
    patient = PatientFactory()
    # when
    page = staff_client.get(reverse("cryoablations:new", args=[patient.public_id]))
    # then the kind first, in words, cryoablation chosen, with its usual 2 cycles of 120 seconds
    form = page.context["form"]
    assert (form["kind"].value(), form["cycles"].value(), form["freeze_seconds"].value()) == ("cryoablation", 2, 120)
    kinds = re.findall(r'name="kind" value="([a-z_]+)"[^>]*>\s*<label[^>]*>\s*([^<]+?)\s*</label>', page.text)
    assert kinds == [(kind.value, kind.label) for kind in Kind]
    assert page.text.index('name="kind"') < page.text.index('name="performed_on"')
    # each detail once, in a box naming the kinds it belongs to (KIND_DETAILS), which the script shows or hides
    boxes = re.findall(r'data-kinds="([a-z_ ]+)">.*?name="([a-z_]+)"', page.text, re.S)
    assert [name for _, name in boxes] == list(DETAILS)
    for kinds_of, name in boxes:
        assert kinds_of.split() == [kind for kind, details in KIND_DETAILS.items() if name in details]
    assert "Recorded for: Cryoablation; Nerve stimulation, temporary leads; Nerve stimulation, implanted." in page.text
    assert "<title>Record a treatment" in page.text


def test_the_cryoablation_defaults_are_not_offered_when_editing_another_kind(physician):
    treatment = make_ablation(patient=PatientFactory(), kind=Kind.RF_PULSED, lesions=2)
    form = TreatmentForm(instance=treatment, patient=treatment.patient)
    assert (form["cycles"].value(), form["freeze_seconds"].value(), form["lesions"].value()) == (None, None, 2)


def test_editing_keeps_the_kind_and_changes_its_details(staff_client, physician):
    # given
    treatment = make_ablation(patient=PatientFactory(), physician=physician, kind=Kind.RF_CONVENTIONAL, lesions=2)
    data = treatment_data(physician, Kind.RF_CONVENTIONAL, lesions="4", temperature_c="85")
    # when
    response = staff_client.post(reverse("cryoablations:edit", args=[treatment.public_id]), data)
    # then
    treatment.refresh_from_db()
    assert (treatment.kind, treatment.lesions, treatment.temperature_c) == (Kind.RF_CONVENTIONAL, 4, 85)
    assert "Conventional radiofrequency saved." in staff_client.get(response["Location"]).text


def test_changing_the_kind_on_edit_clears_nothing_silently(staff_client, physician):
    """Staff who switch a cryoablation to pulsed RF without the script get the cryoablation details named."""
    treatment = make_ablation(patient=PatientFactory(), physician=physician, cycles=2, freeze_seconds=120)
    data = treatment_data(physician, Kind.RF_PULSED, cycles="2", freeze_seconds="120")
    response = staff_client.post(reverse("cryoablations:edit", args=[treatment.public_id]), data)
    errors = response.context["form"].errors
    assert set(errors) == {"cycles", "freeze_seconds"}
    treatment.refresh_from_db()
    assert treatment.kind == Kind.CRYOABLATION


def test_a_positive_blocks_page_offers_a_treatment_prefilled_from_it(staff_client, physician):
    # given
    block = BlockFactory(diary=[(15, 2), (30, 1)], side="right")
    # when
    block_page = staff_client.get(reverse("blocks:detail", args=[block.public_id]))
    new = f"{reverse('cryoablations:new', args=[block.patient.public_id])}?block={block.public_id}"
    form_page = staff_client.get(new)
    # then
    assert f'href="{new}"' in block_page.text
    form = form_page.context["form"]
    assert (form["nerve"].value(), form["side"].value(), form["qualifying_block"].value()) == (
        block.nerve_id,
        "right",
        block.pk,
    )
    assert form["kind"].value() == "cryoablation"


def test_a_negative_blocks_page_offers_no_treatment(staff_client):
    block = BlockFactory(diary=[(15, 7), (30, 8)])
    assert "Record a treatment" not in staff_client.get(reverse("blocks:detail", args=[block.public_id])).text


def test_another_patients_block_prefills_nothing(staff_client):
    block = BlockFactory(diary=[(15, 2)])
    patient = PatientFactory()
    page = staff_client.get(f"{reverse('cryoablations:new', args=[patient.public_id])}?block={block.public_id}")
    assert page.context["form"]["qualifying_block"].value() is None
    page = staff_client.get(f"{reverse('cryoablations:new', args=[patient.public_id])}?block=not-an-id")
    assert page.status_code == 200


def test_the_treatment_page_shows_its_kind_and_details_in_words_with_units(staff_client, physician):
    treatment = make_ablation(
        patient=PatientFactory(),
        kind=Kind.RF_CONVENTIONAL,
        cannula_gauge=18,
        active_tip_mm=10,
        temperature_c=80,
        lesion_seconds=90,
        lesions=3,
    )
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id])).text
    details = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split('id="treatment-details"')[1].split("</dl>")[0]))
    assert "Kind Conventional radiofrequency" in details
    for words in ["Cannula 18 gauge", "Active tip 10 mm", "Temperature 80 °C", "Time per lesion 90 s", "Lesions 3"]:
        assert words in details
    assert "Freeze" not in details and "Device" not in details
    assert "<title>Conventional radiofrequency" in page


def test_a_repeat_supersedes_the_earlier_follow_ups_and_both_pages_say_so(staff_client, physician):
    # given an RF treatment 200 days ago, repeated by a cryoablation 100 days ago (same nerve and side)
    patient = PatientFactory()
    first = make_ablation(
        patient=patient, kind=Kind.RF_CONVENTIONAL, lesions=2, performed_on=TODAY - dt.timedelta(days=200)
    )
    repeat = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=100))
    superseded = FollowUp.objects.filter(ablation=first, superseded_by=repeat)
    assert superseded.count() >= 1
    # when
    first_page = staff_client.get(reverse("cryoablations:detail", args=[first.public_id])).text
    repeat_page = staff_client.get(reverse("cryoablations:detail", args=[repeat.public_id])).text
    timeline = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text
    # then
    first_page, repeat_page, timeline = (as_words(html) for html in (first_page, repeat_page, timeline))
    repeat_link = (
        f"[cryoablation on {repeat.performed_on:%Y-%m-%d}]({reverse('cryoablations:detail', args=[repeat.public_id])})"
    )
    first_link = (
        f"[conventional radiofrequency of {first.performed_on:%Y-%m-%d}]"
        f"({reverse('cryoablations:detail', args=[first.public_id])})"
    )
    assert first_page.count(f"Superseded by {repeat_link}") == superseded.count()
    assert f"Repeated by {repeat_link}" in first_page
    assert f"Repeats {first_link}" in repeat_page
    assert f"Repeats {first_link}" in timeline
    assert f"Repeated by {repeat_link}" in timeline
    assert timeline.count(f"Superseded by {repeat_link}") == superseded.count()  # the badge, then the link
    # a superseded follow-up offers no answers to record
    assert first_page.count("Record answers") == FollowUp.objects.filter(ablation=first).count() - superseded.count()


def test_a_treatment_of_another_side_is_no_repeat(staff_client):
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=TODAY - dt.timedelta(days=200))
    make_ablation(patient=patient, side="right", performed_on=TODAY - dt.timedelta(days=100))
    page = staff_client.get(reverse("cryoablations:detail", args=[first.public_id])).text
    assert "Superseded by" not in page and "Repeated by" not in page


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/cryoablations/{treatment}/", "/treatments/{treatment}/"),
        ("/cryoablations/{treatment}/edit/", "/treatments/{treatment}/edit/"),
        ("/cryoablations/new/{patient}/", "/treatments/new/{patient}/"),
        ("/cryoablations/worklist/?status=missed&page=2", "/treatments/worklist/?status=missed&page=2"),
        ("/cryoablations/follow-ups/{follow_up}/answers/", "/treatments/follow-ups/{follow_up}/answers/"),
    ],
)
def test_version_1_addresses_redirect_permanently_to_the_treatment_pages(staff_client, old, new):
    treatment = make_ablation(patient=PatientFactory())
    ids = {"treatment": treatment.public_id, "patient": treatment.patient.public_id}
    ids["follow_up"] = treatment.follow_ups.first().public_id
    response = staff_client.get(old.format(**ids))
    assert (response.status_code, response["Location"]) == (301, new.format(**ids))
    assert staff_client.get(response["Location"]).status_code == 200


def test_the_treatment_pages_live_under_treatments():
    assert reverse("cryoablations:worklist") == "/treatments/worklist/"
    assert reverse("cryoablations:new", args=["00000000-0000-0000-0000-000000000000"]).startswith("/treatments/new/")


@pytest.mark.parametrize("role", [None, Role.STAFF, Role.PHYSICIAN])
def test_recording_a_treatment_needs_a_clinical_role(client, physician, role):
    # given
    patient = PatientFactory()
    client.force_login(UserFactory(role=role) if role else UserFactory())
    # when
    response = client.post(
        reverse("cryoablations:new", args=[patient.public_id]), treatment_data(physician, Kind.RF_COOLED)
    )
    # then
    if role is None:
        assert response.status_code == 403
        assert not Cryoablation.objects.exists()
    else:
        assert response.status_code == 302
        assert Cryoablation.objects.get().kind == Kind.RF_COOLED


def test_signed_out_the_old_address_leads_to_sign_in(client):
    treatment = make_ablation(patient=PatientFactory())
    response = client.get(f"/cryoablations/{treatment.public_id}/", follow=True)
    assert response.redirect_chain[0] == (f"/treatments/{treatment.public_id}/", 301)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))
