"""Keeps patient data and survey tokens out of the logs. Request lines are logged without their query string
(patient search puts the name typed in ?q=...), and without the token of a survey link (/s/<token>/ opens that
patient's survey: whoever reads the log could answer it, or stop the patient's reminders)."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"(\s/[^\s?]*)\?\S*")
# A path starting with the survey links' prefix (config/urls.py mounts apps.surveys at /s/), alone or in a full
# address (a referer); the survey pages' own paths (/s/thanks/, /s/stop/) carry no token and stay readable.
_SURVEY_TOKEN = re.compile(r"""((?:^|[\s"'(]|[a-z]+://[^/\s"']+)/s/)(?!(?:thanks|stop)(?:[/\s?#"']|$))[^/\s?#"']+""")


class CleanRequestLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _SURVEY_TOKEN.sub(r"\1[token]", _QUERY.sub(r"\1", message))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
