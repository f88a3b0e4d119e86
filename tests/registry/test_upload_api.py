"""The API's registry upload goes through the registry's upload service (registry_upload_import) and answers bad
input with 400, never 500, leaving no upload behind."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.registry.uploads import uploads_root
from tests.api.test_api import bearer
from tests.registry.test_bulk import _files

pytestmark = pytest.mark.django_db


def _uploads_left() -> list:
    root = uploads_root()
    return list(root.iterdir()) if root.is_dir() else []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param(lambda: {"files": _files(), "dry_run": "maybe"}, "dry_run", id="options-not-a-boolean"),
        pytest.param(lambda: {"files": [SimpleUploadedFile("registry.zip", b"not a zip")]}, "files", id="bad-zip"),
        pytest.param(lambda: {"files": [SimpleUploadedFile("evil.sh", b"x")]}, "files", id="an-unknown-file"),
        pytest.param(lambda: {"dry_run": "true"}, "files", id="no-files"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(admin_user, data, field):
    # given
    before = _uploads_left()

    # when
    response = bearer(admin_user).post(reverse("api:registry_import"), data())

    # then
    assert response.status_code == 400
    assert field in response.json()
    assert not Patient.objects.exists()
    assert _uploads_left() == before


def test_a_real_run_through_the_api_imports_and_keeps_no_upload(admin_user):
    # given
    before = _uploads_left()

    # when
    response = bearer(admin_user).post(reverse("api:registry_import"), {"files": _files(), "dry_run": "false"})

    # then
    assert response.status_code == 200
    assert ImportRun.objects.get().status == ImportRun.Status.IMPORTED
    assert Patient.objects.exists()
    assert _uploads_left() == before
