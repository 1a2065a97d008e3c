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
