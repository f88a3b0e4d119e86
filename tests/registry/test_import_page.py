"""The registry import as an admin page: upload, dry run with every problem, confirm (apps.registry.services)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import AccessEvent
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.registry.parsing import FILES

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"


def _zip(folder: Path, **replace: bytes) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in FILES:
            archive.writestr(f"export/{name}", replace.get(name.replace(".csv", ""), (folder / name).read_bytes()))
    return SimpleUploadedFile("registry.zip", buffer.getvalue(), content_type="application/zip")


def test_upload_dry_run_then_confirm_imports_the_files(client, admin_user):
    # given
    client.force_login(admin_user)
    files = [SimpleUploadedFile(name, (SAMPLE / name).read_bytes(), content_type="text/csv") for name in FILES]
    last = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    # when the four files are uploaded
    response = client.post(reverse("registry:import"), {"files": files})

    # then a dry run: counts shown, nothing written, one access event
    assert response.status_code == 200 and b"Dry run: no problems" in response.content
    assert not Patient.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.DRY_RUN
    assert AccessEvent.objects.filter(id__gt=last).count() == 1

    # when confirmed
    response = client.post(reverse("registry:import_confirm"))

    # then imported
    assert response.status_code == 302
    assert Patient.objects.count() == 60
    assert ImportRun.objects.filter(status=ImportRun.Status.IMPORTED).count() == 1


def test_a_zip_with_bad_rows_lists_every_problem_and_cannot_be_confirmed(client, admin_user):
    # given a zip whose patients.csv has two bad rows
    client.force_login(admin_user)
    patients = (SAMPLE / "patients.csv").read_text().splitlines()
    header = patients[0].split(",")
    bad = patients[1].split(",")
    bad[header.index("date_of_birth")] = "not-a-date"
    worse = patients[2].split(",")
    worse[header.index("sex")] = "Q"
    body = "\n".join([patients[0], ",".join(bad), ",".join(worse), *patients[3:]]) + "\n"

    # when
    response = client.post(reverse("registry:import"), {"files": [_zip(SAMPLE, patients=body.encode())]})
    confirm = client.post(reverse("registry:import_confirm"))

    # then both problems are listed with their lines, and nothing can be imported
    html = response.content.decode()
    assert "patients.csv:2: date_of_birth" in html and "patients.csv:3: sex" in html
    assert confirm.status_code == 302 and not Patient.objects.exists()
    assert not ImportRun.objects.filter(status=ImportRun.Status.IMPORTED).exists()


def test_an_unknown_file_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("registry:import"), {"files": [SimpleUploadedFile("evil.sh", b"x")]})
    assert b"not one of" in response.content and not ImportRun.objects.exists()
