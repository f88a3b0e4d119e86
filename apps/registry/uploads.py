"""An uploaded registry (its CSV files or one zip) kept in a folder of its own between the dry run and the
confirmation, so that the confirmed import reads exactly the files that were checked. Only the known file
names are ever written: nothing from the upload chooses a path."""

from __future__ import annotations

import secrets
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from .parsing import FILES

# The names kept from an upload: the files the import reads.
KEPT_NAMES = list(FILES)

# A registry far larger than any clinic's. Checked before anything is read (the size Django's upload handlers
# measured while streaming the upload to a temporary file), and again while a zip's files are unpacked.
MAX_FILE_BYTES = 200 * 1024 * 1024  # per CSV, unzipped
MAX_TOTAL_BYTES = 400 * 1024 * 1024  # the CSVs together, unzipped; and what was uploaded
COPY_CHUNK = 1024 * 1024


class UploadError(Exception):
    pass


def uploads_root() -> Path:
    return Path(settings.REGISTRY_UPLOADS_ROOT)


def upload_store(files) -> str:
    """Save the upload; returns the token naming its folder. Unknown file names and files over the size limits
    are refused, before anything is read."""
    files = list(files)
    _sizes_check(files)
    token = secrets.token_hex(16)
    folder = uploads_root() / token
    folder.mkdir(parents=True)
    try:
        budget = _Budget()
        for upload in files:
            name = PurePosixPath(upload.name).name
            if name.lower().endswith(".zip"):
                _unzip(upload, folder, budget)
            else:
                with (folder / name).open("wb") as out:
                    for chunk in upload.chunks():
                        budget.take(name, len(chunk))
                        out.write(chunk)
    except (UploadError, zipfile.BadZipFile) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadError(str(error)) from error
    return token


def upload_names(files) -> str:
    """The names of the files uploaded, as the import run records its source (not the folder they are kept in)."""
    return ", ".join(PurePosixPath(upload.name).name for upload in files)


def _too_large(name: str, limit: int) -> UploadError:
    return UploadError(f"{name} is larger than the limit of {filesizeformat(limit)}.")


def _together_too_large() -> UploadError:
    return UploadError(f"The files together are larger than the limit of {filesizeformat(MAX_TOTAL_BYTES)}.")


def _sizes_check(files) -> None:
    for upload in files:
        name = PurePosixPath(upload.name).name
        if not name.lower().endswith(".zip") and name not in KEPT_NAMES:
            raise UploadError(f"{name}: not one of {', '.join(FILES)} nor a .zip.")
        # A zip is checked again file by file as it is unpacked; it cannot be larger than the files it holds.
        limit = MAX_TOTAL_BYTES if name.lower().endswith(".zip") else MAX_FILE_BYTES
        if upload.size is None or upload.size > limit:
            raise _too_large(name, limit)
    if sum(upload.size for upload in files) > MAX_TOTAL_BYTES:
        raise _together_too_large()


class _Budget:
    """Bytes written so far, per file and in all: the limits hold whatever a zip's headers claim."""

    def __init__(self) -> None:
        self.per_file: dict[str, int] = {}
        self.total = 0

    def take(self, name: str, size: int) -> None:
        self.per_file[name] = self.per_file.get(name, 0) + size
        self.total += size
        if self.per_file[name] > MAX_FILE_BYTES:
            raise _too_large(name, MAX_FILE_BYTES)
        if self.total > MAX_TOTAL_BYTES:
            raise _together_too_large()


def _unzip(upload, folder: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(upload) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename).name
            if info.is_dir() or name not in KEPT_NAMES:
                continue
            if info.file_size > MAX_FILE_BYTES:
                raise _too_large(name, MAX_FILE_BYTES)
            with archive.open(info) as source, (folder / name).open("wb") as out:
                while chunk := source.read(COPY_CHUNK):
                    budget.take(name, len(chunk))
                    out.write(chunk)


def upload_folder(token: str) -> Path | None:
    if not token or not all(c in "0123456789abcdef" for c in token) or len(token) != 32:
        return None
    folder = uploads_root() / token
    return folder if folder.is_dir() else None


def upload_discard(token: str) -> None:
    folder = upload_folder(token)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
