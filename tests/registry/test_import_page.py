"""The registry import as an admin page: upload, dry run with every problem, confirm (apps.registry.services)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import AccessEvent
from apps.patients.models import Patient
from apps.registry import uploads
from apps.registry.models import ImportRun
from apps.registry.parsing import FILES_V1 as FILES
from apps.registry.uploads import uploads_root

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


def _uploads_left() -> list[Path]:
    root = uploads_root()
    return list(root.iterdir()) if root.is_dir() else []


def _sample_files(**replace: bytes) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(name, replace.get(name.replace(".csv", ""), (SAMPLE / name).read_bytes()), "text/csv")
        for name in FILES
    ]


def test_a_csv_over_the_size_limit_is_refused_before_it_is_read(client, admin_user, monkeypatch):
    # given a (lowered) limit per file, and a patients.csv one byte over it
    client.force_login(admin_user)
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 10_000)
    monkeypatch.setattr(uploads, "MAX_TOTAL_BYTES", 10_000_000, raising=False)
    before = _uploads_left()
    patients = (SAMPLE / "patients.csv").read_bytes()
    big = patients + b"\n" * (10_001 - len(patients))

    # when
    response = client.post(reverse("registry:import"), {"files": _sample_files(patients=big)})

    # then refused with the file and the limit named, and nothing written
    assert response.status_code == 200
    assert "patients.csv is larger than the limit of 9.8\xa0KB" in response.content.decode()
    assert not ImportRun.objects.exists() and not Patient.objects.exists()
    assert _uploads_left() == before


def test_files_over_the_total_limit_are_refused(client, admin_user, monkeypatch):
    # given files each under the limit per file, together over the (lowered) total limit
    client.force_login(admin_user)
    files = _sample_files()
    monkeypatch.setattr(uploads, "MAX_TOTAL_BYTES", sum(f.size for f in files) - 1, raising=False)
    before = _uploads_left()

    # when
    response = client.post(reverse("registry:import"), {"files": files})

    # then
    assert "The files together are larger than the limit of" in response.content.decode()
    assert not ImportRun.objects.exists() and _uploads_left() == before


def test_a_file_in_a_zip_over_the_size_limit_is_refused(client, admin_user, monkeypatch):
    # given a zip (small, compressed) whose patients.csv unzips to more than the (lowered) limit
    client.force_login(admin_user)
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 10_000)
    patients = (SAMPLE / "patients.csv").read_bytes()
    before = _uploads_left()

    # when
    response = client.post(reverse("registry:import"), {"files": [_zip(SAMPLE, patients=patients + b"\n" * 20_000)]})

    # then
    assert "patients.csv is larger than the limit of 9.8\xa0KB" in response.content.decode()
    assert not ImportRun.objects.exists() and _uploads_left() == before


def test_a_missing_file_is_named_and_nothing_else(client, admin_user):
    # given an upload without ablations.csv
    client.force_login(admin_user)
    files = [f for f in _sample_files() if f.name != "ablations.csv"]

    # when
    response = client.post(reverse("registry:import"), {"files": files})

    # then the page says which file is missing, without a line 0 or the upload's folder
    html = response.content.decode()
    assert "<li>treatments.csv (or ablations.csv, version 1) is missing.</li>" in html
    assert "ablations.csv:0" not in html and "missing from" not in html


def test_the_dry_run_and_the_result_give_the_counts_in_words(client, admin_user):
    # given
    client.force_login(admin_user)

    # when the sample is checked, then imported
    preview = client.post(reverse("registry:import"), {"files": _sample_files()}).content.decode()
    result = client.post(reverse("registry:import_confirm"), follow=True).content.decode()

    # then both say what the counts mean, in words, without the import's internal keys
    for html in (preview, result):
        assert "60 new patients; 0 patients already in the registry" in html
        assert "of them whose window had closed before the import" in html
        assert "Qualifying block named in the file for" in html
        for code in ("window_closed_at_import", "qualifying_by_rule", "follow_ups", "diary_entries"):
            assert code not in html
