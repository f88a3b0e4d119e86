"""ETags of API representations, and the If-Match check that keeps two editors from overwriting each other."""

from __future__ import annotations

import hashlib
import json
import re

from rest_framework import exceptions

from .exceptions import PreconditionFailed, PreconditionRequired

ETAG_HEX_DIGITS = 32
# What the API's ETags look like (the schema declares it): a strong tag of hex digits.
ETAG_PATTERN = f'^"[0-9a-f]{{{ETAG_HEX_DIGITS}}}"$'
# What If-Match may hold (RFC 9110 section 13.1.1, as the schema declares it): entity tags, weak or strong, separated
# by commas. "*" is not one: it would overwrite blindly, and is answered as a missing If-Match (428).
_ENTITY_TAG = r'(W/)?"[\x21\x23-\x7e]*"'
IF_MATCH_PATTERN = rf"^{_ENTITY_TAG}([ \t]*,[ \t]*{_ENTITY_TAG})*$"


def etag_of(data) -> str:
    """A strong ETag of a representation: any change to what the client saw changes it."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:ETAG_HEX_DIGITS]}"'


def if_match_check(request, current_etag: str) -> None:
    """428 without If-Match (or with `*`), 400 naming the header when it holds no entity tags, 412 when none of its
    tags is the current one."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        raise PreconditionRequired
    if not re.fullmatch(IF_MATCH_PATTERN, header):
        raise exceptions.ValidationError(
            {"If-Match": ['Send the ETag of your last read, as it came: "..." (several separated by commas).']}
        )
    sent = [tag.strip() for tag in header.split(",")]
    if current_etag not in sent:  # strong comparison: a weak W/"..." tag never matches
        raise PreconditionFailed
