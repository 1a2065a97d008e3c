"""Article 73's reporting deadlines for serious incidents, counted from the day the provider
became aware. Pure: dates in, dates out.

- 73(2): not later than 15 days after awareness;
- 73(4): not later than 10 days in the event of the death of a person;
- 73(3): not later than 2 days for a widespread infringement or a serious incident within the
  meaning of Art. 3(49)(b) (serious and irreversible disruption of critical infrastructure).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.cases.domain import SeriousIncident

Incident = SeriousIncident

DAYS: dict[Incident, int] = {
    Incident.DEATH: 10,
    Incident.HEALTH: 15,
    Incident.INFRASTRUCTURE: 2,
    Incident.FUNDAMENTAL_RIGHTS: 15,
    Incident.WIDESPREAD: 2,
    Incident.PROPERTY: 15,
}

ARTICLE: dict[Incident, str] = {
    Incident.DEATH: "73(4)",
    Incident.HEALTH: "73(2)",
    Incident.INFRASTRUCTURE: "73(3)",
    Incident.FUNDAMENTAL_RIGHTS: "73(2)",
    Incident.WIDESPREAD: "73(3)",
    Incident.PROPERTY: "73(2)",
}


def is_serious(category: str) -> bool:
    return category != Incident.NONE.value


def due_date(category: str, aware_on: date) -> date:
    """The last day on which the report is on time."""
    return aware_on + timedelta(days=DAYS[Incident(category)])


def due_moment(category: str, aware_on: date, timezone: str) -> datetime:
    """The end of the last day, in the organisation's timezone: the instant the report is late."""
    last = due_date(category, aware_on)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
