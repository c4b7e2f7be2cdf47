"""Residents rate those who serve them (共评): a satisfaction survey round (S-1, S-2 …),
quarterly by default, on the owners' committee, the property management and the handlers
of each report category the building used since the last round.

Each subject is rated 1–5 with an optional comment, once per household (a person with
two flats answers once; a second member of a household that has answered is told so).
Rounds are anonymous by default: the stars are kept only as counts per subject, the
comments without their writer, and who took part apart from what they said. A round stays
open two weeks; then its results go to the group with the trend against the round before,
and, beside each category's handlers, how fast they acknowledged and resolved reports and
how the reporters rated the fixes over the same months.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

STARS = range(1, 6)
OPEN_FOR = timedelta(days=14)
MONTHS_DEFAULT = 3  # quarterly
MONTHS_ALLOWED = (1, 2, 3, 4, 6, 12)
COMMENT_MAX = 500

COMMITTEE = "committee"
PROPERTY = "property"
CATEGORY_PREFIX = "cat:"


def category_subject(category: str) -> str:
    return CATEGORY_PREFIX + category


def subject_category(subject: str) -> str | None:
    """The report category a subject stands for (its handlers), or None."""
    return subject[len(CATEGORY_PREFIX):] if subject.startswith(CATEGORY_PREFIX) else None


def subjects_for(categories_used: Iterable[str], known: Sequence[str]) -> list[str]:
    """The committee, the property management, then each category residents filed reports
    in since the last round, in the configured order (a category nobody used has nothing
    to be rated on)."""
    used = set(categories_used)
    return [COMMITTEE, PROPERTY] + [category_subject(c) for c in known if c in used]


def every(months: int | None) -> int:
    """Months between rounds: a group's setting, quarterly when it has none; 0 is off."""
    return MONTHS_DEFAULT if months is None else months


def next_round_at(last_opened: datetime | None, since: datetime, months: int) -> datetime:
    """When the next round opens by itself: ``months`` after the last round, or after the
    bot joined the group when there was none (a fresh group is not surveyed on day one)."""
    return (last_opened or since) + timedelta(days=round(months * 365.25 / 12))


class Refusal(BaseModel):
    """Why a person may not rate a subject (a msgid), or None."""

    model_config = ConfigDict(frozen=True)

    reason: str


def household_for(my_units: Sequence[int], answered_units: Iterable[int],
                  i_answered: bool) -> int | None:
    """Which of a person's households their answer counts for: the first whose rating of
    the subject is still to give; None if they answered already or every one of their
    households has."""
    if i_answered:
        return None
    taken = set(answered_units)
    return next((unit for unit in sorted(my_units) if unit not in taken), None)


class SubjectResult(BaseModel):
    """A subject's stars in one round."""

    model_config = ConfigDict(frozen=True)

    subject: str
    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # how many gave 1 … 5 stars

    @property
    def answers(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> Fraction | None:
        if not self.answers:
            return None
        return Fraction(sum(stars * n for stars, n in zip(STARS, self.counts, strict=True)),
                        self.answers)

    def change_from(self, before: SubjectResult | None) -> Fraction | None:
        """The mean's change since the round before; None where either has no answers."""
        if before is None or before.mean is None or self.mean is None:
            return None
        return self.mean - before.mean


def tally(subjects: Sequence[str],
          scores: Mapping[tuple[str, int], int]) -> list[SubjectResult]:
    """Each subject's counts from the stored (subject, stars) → count."""
    return [SubjectResult(subject=s, counts=tuple(  # type: ignore[arg-type]
        int(scores.get((s, stars), 0)) for stars in STARS)) for s in subjects]


class HandlerRecord(BaseModel):
    """How a category's handlers served in the months a round looks back on."""

    model_config = ConfigDict(frozen=True)

    category: str
    reports: int = 0
    hours_to_acknowledge: float | None = None  # mean over those acknowledged
    hours_to_resolve: float | None = None  # mean over those resolved
    rating: Fraction | None = None  # the reporters' mean rating of the fixes
    ratings: int = 0


class ReportTimes(BaseModel):
    """One report's times, for the handlers' record."""

    model_config = ConfigDict(frozen=True)

    category: str
    filed: datetime
    acknowledged: datetime | None = None
    resolved: datetime | None = None
    stars: list[int] = Field(default_factory=list)


def _mean_hours(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(sum(s.total_seconds() for s in spans) / len(spans) / 3600, 1)


def handler_records(times: Iterable[ReportTimes]) -> dict[str, HandlerRecord]:
    """Per category: reports filed, mean hours to acknowledge and to resolve (counted
    from filing, over the reports that got there), and the reporters' mean rating."""
    by_category: dict[str, list[ReportTimes]] = {}
    for report in times:
        by_category.setdefault(report.category, []).append(report)
    records = {}
    for category, reports in by_category.items():
        stars = [s for r in reports for s in r.stars]
        records[category] = HandlerRecord(
            category=category, reports=len(reports),
            hours_to_acknowledge=_mean_hours([r.acknowledged - r.filed for r in reports
                                              if r.acknowledged is not None]),
            hours_to_resolve=_mean_hours([r.resolved - r.filed for r in reports
                                          if r.resolved is not None]),
            rating=Fraction(sum(stars), len(stars)) if stars else None, ratings=len(stars))
    return records


class Round(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    subjects: list[str]
    anonymous: bool = True
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None = None
    looks_back_from: datetime  # the handlers' record covers [looks_back_from, closes_at)
    post_chat_id: int | None = None
    post_message_id: int | None = None
    results: dict | None = None  # frozen at the close: what was posted

    @property
    def ref(self) -> str:
        return f"S-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
