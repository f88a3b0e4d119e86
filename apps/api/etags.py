"""ETags of API representations, and the If-Match check that keeps two editors from overwriting each other."""

from __future__ import annotations

import hashlib
import json

from .exceptions import PreconditionFailed, PreconditionRequired


def etag_of(data) -> str:
    """A strong ETag of a representation: any change to what the client saw changes it."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def if_match_check(request, current_etag: str) -> None:
    """428 without If-Match (or with `*`, which would overwrite blindly), 412 when no ETag in it is the current one."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        raise PreconditionRequired
    sent = [tag.strip() for tag in header.split(",")]
    if current_etag not in sent:  # strong comparison: a weak W/"..." tag never matches
        raise PreconditionFailed
