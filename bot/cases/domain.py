"""The words of Article 20 as values: what a report can say."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Risk(StrEnum):
    """Does the system present a risk within the meaning of Art. 79(1)?"""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


# AI Act Chapter III Section 2: the requirements a high-risk system must meet, plus "other".
REQUIREMENTS: Final[tuple[str, ...]] = (
    "art9",
    "art10",
    "art11",
    "art12",
    "art13",
    "art14",
    "art15",
    "other",
)

TITLE_MAX: Final = 150
DESCRIPTION_MAX: Final = 2900
URL_MAX: Final = 2000


# Where a serious incident can occur under the AI Act: the EU's 27 Member States and the EEA's
# Iceland, Liechtenstein and Norway, by ISO 3166-1 code (Greece is GR, not the EU's "EL").
# Their names are Babel's, in the reader's language.
MEMBER_STATES: Final[tuple[str, ...]] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
)  # fmt: skip
PERSONS_AFFECTED_MAX: Final = 1_000_000_000


class Measure(StrEnum):
    """The corrective actions Article 20(1) names."""

    BRING_INTO_CONFORMITY = "bring_into_conformity"
    WITHDRAW = "withdraw"  # Art. 3(17)
    DISABLE = "disable"
    RECALL = "recall"  # Art. 3(16)


class SeriousIncident(StrEnum):
    """Art. 3(49): none, or the category of the serious incident, split where Art. 73's
    deadlines differ (a death; a widespread infringement)."""

    NONE = "none"
    DEATH = "a_death"  # 3(49)(a), a person died
    HEALTH = "a_health"  # 3(49)(a), serious harm to a person's health
    INFRASTRUCTURE = "b"  # 3(49)(b)
    FUNDAMENTAL_RIGHTS = "c"  # 3(49)(c)
    WIDESPREAD = "c_widespread"  # 3(49)(c) as a widespread infringement (Art. 3(61))
    PROPERTY = "d"  # 3(49)(d)


REASON_MAX: Final = 2000
