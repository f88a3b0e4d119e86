"""An uploaded registry (four CSV files or one zip) kept in a folder of its own between the dry run and the
confirmation, so that the confirmed import reads exactly the files that were checked. Only the four known file
names are ever written: nothing from the upload chooses a path."""

from __future__ import annotations

import secrets
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings

from .parsing import FILES

MAX_FILE_BYTES = 200 * 1024 * 1024  # per CSV, unzipped: a registry far larger than any clinic's


class UploadError(Exception):
    pass


def uploads_root() -> Path:
    return Path(settings.REGISTRY_UPLOADS_ROOT)


def upload_store(files) -> str:
    """Save the upload; returns the token naming its folder. Unknown file names are refused."""
    token = secrets.token_hex(16)
    folder = uploads_root() / token
    folder.mkdir(parents=True)
    try:
        for upload in files:
            name = PurePosixPath(upload.name).name
            if name.lower().endswith(".zip"):
                _unzip(upload, folder)
            elif name in FILES:
                with (folder / name).open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
            else:
                raise UploadError(f"{name}: not one of {', '.join(FILES)} nor a .zip.")
    except (UploadError, zipfile.BadZipFile) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadError(str(error)) from error
    return token


def _unzip(upload, folder: Path) -> None:
    with zipfile.ZipFile(upload) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename).name
            if info.is_dir() or name not in FILES:
                continue
            if info.file_size > MAX_FILE_BYTES:
                raise UploadError(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
            with archive.open(info) as source, (folder / name).open("wb") as out:
                shutil.copyfileobj(source, out)


def upload_folder(token: str) -> Path | None:
    if not token or not all(c in "0123456789abcdef" for c in token) or len(token) != 32:
        return None
    folder = uploads_root() / token
    return folder if folder.is_dir() else None


def upload_discard(token: str) -> None:
    folder = upload_folder(token)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
