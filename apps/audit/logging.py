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


def _rewrite(record: logging.LogRecord, pattern: re.Pattern, replacement: str) -> bool:
    message = record.getMessage()
    rewritten = pattern.sub(replacement, message)
    if rewritten != message:
        record.msg, record.args = rewritten, ()
    return True


class StripQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _rewrite(record, _QUERY, r"\1")


class RedactSurveyTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _rewrite(record, _SURVEY_TOKEN, r"\1[token]")
