"""The weekly summary's figures: what a week held, computed from plain records so the
numbers can be checked by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from statistics import median

from pydantic import BaseModel, ConfigDict


class TopicLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    ref: str
    title: str
    supports: int


class PollLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    ref: str
    question: str
    verdict: str  # already in the reader's words
    turnout: str
    deadline: datetime | None = None


class DecisionLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    ref: str
    title: str
    progress: int
    overdue: bool


class MeetingLine(BaseModel):
    """A round-table meeting held in the week, its minutes posted."""

    model_config = ConfigDict(frozen=True)
    ref: str
    title: str
    came: int
    agreed: int


class NoticeLine(BaseModel):
    """A decision posted for objection (公示) during the week: still open, or settled."""

    model_config = ConfigDict(frozen=True)
    ref: str
    title: str
    objections: int
    until: datetime
    outcome: str | None  # confirmed, amended, withdrawn; None while open


class SurveyLine(BaseModel):
    """A satisfaction survey round open during the week, or closed in it."""

    model_config = ConfigDict(frozen=True)
    ref: str
    households: int
    until: datetime | None  # open until; None once closed
    means: list[tuple[str, Fraction | None]] = []  # closed: each subject's mean stars


class Week(BaseModel):
    """Everything the summary says about one week of one community."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    topics_raised: int = 0
    top_topics: list[TopicLine] = []
    polls_closed: list[PollLine] = []
    polls_open: list[PollLine] = []
    reports_opened: int = 0
    reports_resolved: int = 0
    median_hours_to_resolve: float | None = None
    reports_overdue: int = 0
    satisfaction: Fraction | None = None  # mean of the week's 1–5 ratings
    ratings: int = 0
    decisions_open: list[DecisionLine] = []
    decision_updates: int = 0
    top_contributors: list[tuple[str, int]] = []
    helps_done: int = 0  # neighbours' help confirmed this week
    help_minutes: int = 0
    activities_held: int = 0  # volunteer activities, attendance confirmed
    activity_minutes: int = 0  # given by their attendees together
    meetings: list[MeetingLine] = []
    notices: list[NoticeLine] = []
    surveys: list[SurveyLine] = []

    @property
    def empty(self) -> bool:
        """Nothing happened and nothing is pending: one line instead of a wall of zeros."""
        return not (self.topics_raised or self.polls_closed or self.polls_open
                    or self.reports_opened or self.reports_resolved or self.reports_overdue
                    or self.decisions_open or self.decision_updates or self.helps_done
                    or self.activities_held or self.meetings or self.notices
                    or self.surveys)


def median_hours(durations: list[timedelta]) -> float | None:
    if not durations:
        return None
    return round(median(d.total_seconds() for d in durations) / 3600, 1)


def mean(values: list[int]) -> Fraction | None:
    return Fraction(sum(values), len(values)) if values else None


class ChartWeek(BaseModel):
    """One bar group of the chart."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    opened: int
    resolved: int
    turnout: float | None  # mean share (0–1) of the polls closed that week that have one
