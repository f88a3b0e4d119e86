"""The import runs' pages: a list of past runs and a page per run (admins only, by the run's public id)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.registry.models import ImportRun
from apps.registry.parsing import FILES_V1 as FILES
from apps.registry.services import registry_import

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"


def _upload(client) -> None:
    files = [SimpleUploadedFile(name, (SAMPLE / name).read_bytes(), content_type="text/csv") for name in FILES]
    client.post(reverse("registry:import"), {"files": files})


def test_the_list_shows_who_when_which_files_what_and_the_status_of_each_run(client, admin_user):
    # given a dry run and an import of the sample from the page, and a refused run of the command
    client.force_login(admin_user)
    _upload(client)
    client.post(reverse("registry:import_confirm"))
    registry_import(folder=SAMPLE.parent / "no-such-folder")

    # when
    response = client.get(reverse("registry:runs"))

    # then every run is listed, in words, with a link to its page by its public id
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(f"by {admin_user.display_name}") == 2 and "by the command line" in html
    assert "patients.csv, blocks.csv, ablations.csv, survey_responses.csv" in html
    assert "Imported" in html and "Checked (dry run), nothing written" in html and "Refused, nothing written" in html
    assert "60 new patients" in html and "4 problems" in html
    for run in ImportRun.objects.all():
        assert reverse("registry:run", args=[run.public_id]) in html
    assert "registry-uploads" not in html and "window_closed_at_import" not in html


def test_the_import_page_and_its_confirmation_lead_to_the_runs(client, admin_user):
    # given
    client.force_login(admin_user)
    _upload(client)

    # when confirmed
    response = client.post(reverse("registry:import_confirm"))

    # then the run's own page, with its counts in words
    run = ImportRun.objects.get(status=ImportRun.Status.IMPORTED)
    assert response.status_code == 302 and response["Location"] == reverse("registry:run", args=[run.public_id])
    page = client.get(response["Location"]).content.decode()
    assert "Imported" in page and "60 new patients" in page
    assert "patients.csv, blocks.csv, ablations.csv, survey_responses.csv" in page
    # and the import page links to the list
    assert reverse("registry:runs") in client.get(reverse("registry:import")).content.decode()


def test_a_refused_run_lists_where_its_problems_are(client, admin_user, tmp_path):
    # given a run refused for a bad cell
    client.force_login(admin_user)
    for name in FILES:
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    lines = (tmp_path / "patients.csv").read_text().splitlines()
    (tmp_path / "patients.csv").write_text("\n".join([lines[0], lines[1].replace("-", "/", 1), *lines[2:]]) + "\n")
    run = registry_import(folder=tmp_path, user=admin_user).run

    # when
    page = client.get(reverse("registry:run", args=[run.public_id])).content.decode()

    # then
    assert "Refused, nothing written" in page and "1 problem" in page and "patients.csv:2: date_of_birth" in page


def test_a_run_that_does_not_exist_is_not_found(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("registry:run", args=[uuid.uuid4()])).status_code == 404
