"""Keeps patient data out of the logs: request lines are logged without their query string (patient search puts
the name typed in ?q=...)."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"(\s/[^\s?]*)\?\S*")


class StripQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        stripped = _QUERY.sub(r"\1", message)
        if stripped != message:
            record.msg, record.args = stripped, ()
        return True
