"""Answers by channel (two-way SMS, issue 17): of the diary slots and follow-ups a message asked about, how many were
answered by an SMS reply, on the link, or entered by staff, and the median time from the first message to the
answer. What a clinic needs to choose its channels. A query of its own beside sql.py's FIGURES (it reads the messages,
which the outcome figures do not), under the same filters: blocks by their date, physician, nerve and side;
follow-ups by their treatment's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.clinic.replica import read_connection

from .outcomes import OutcomesFilters
from .sql import BLOCK_FILTERS, TREATMENT_ROW_FILTERS

# The channels, named from the diary entry's source and the survey answer's collected_via (the CASEs below): an SMS
# reply, the patient's link, or entered by staff (a phone call, a clinic visit, an import).
CHANNELS = ["SMS reply", "Link", "Staff entry"]

# S608: composed of sql.py's constant filter fragments; values travel as parameters only.
# ruff: noqa: S608
DIARY_SQL = f"""
WITH prompted AS (
    SELECT m.block_id, m.diary_minutes, min(m.sent_at) AS first_sent
    FROM reminders_message m JOIN blocks_diagnosticblock b ON b.id = m.block_id
    WHERE m.status = 'sent' AND m.channel IN ('sms', 'email') AND {BLOCK_FILTERS}
    GROUP BY m.block_id, m.diary_minutes
)
SELECT CASE WHEN e.id IS NULL THEN NULL WHEN e.source = 'sms' THEN 'SMS reply'
            WHEN e.source = 'patient' THEN 'Link' ELSE 'Staff entry' END AS channel,
       count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.recorded_at - p.first_sent) / 60)
           FILTER (WHERE e.recorded_at >= p.first_sent)
FROM prompted p
LEFT JOIN blocks_diaryentry e ON e.block_id = p.block_id AND e.minutes_after = p.diary_minutes
GROUP BY 1
"""

SURVEY_SQL = f"""
WITH prompted AS (
    SELECT m.follow_up_id, min(m.sent_at) AS first_sent
    FROM reminders_message m
    JOIN cryoablations_followup f ON f.id = m.follow_up_id
    JOIN cryoablations_cryoablation t ON t.id = f.ablation_id
    WHERE m.status = 'sent' AND m.channel IN ('sms', 'email') AND {TREATMENT_ROW_FILTERS}
    GROUP BY m.follow_up_id
)
SELECT CASE WHEN r.id IS NULL THEN NULL WHEN r.collected_via = 'sms' THEN 'SMS reply'
            WHEN r.collected_via = 'link' THEN 'Link' ELSE 'Staff entry' END AS channel,
       count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.recorded_at - p.first_sent) / 60)
           FILTER (WHERE r.recorded_at >= p.first_sent)
FROM prompted p
JOIN cryoablations_followup f ON f.id = p.follow_up_id
LEFT JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
GROUP BY 1
"""


@dataclass(frozen=True)
class ChannelRow:
    what: str  # "Diary" or "Follow-up survey"
    channel: str
    answered: int
    prompted: int
    median_minutes: float | None

    @property
    def rate_percent(self) -> float | None:
        return 100 * self.answered / self.prompted if self.prompted else None


def _rows(what: str, sql: str, params: dict[str, Any]) -> list[ChannelRow]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        raw = {channel: (count, median) for channel, count, median in cursor.fetchall()}
    prompted = sum(count for count, _ in raw.values())
    rows = []
    for name in CHANNELS:
        count, median = raw.get(name, (0, None))
        rows.append(ChannelRow(what, name, count, prompted, None if median is None else float(median)))
    return rows


def channel_figures(*, filters: OutcomesFilters) -> list[ChannelRow]:
    """Diary slots and follow-ups a message (SMS or email) asked about, answered per channel, with the median minutes
    from the first message to the answer."""
    params = filters.params()
    return _rows("Diary", DIARY_SQL, params) + _rows("Follow-up survey", SURVEY_SQL, params)
