"""Issue reports (随手拍): the life of a report and its time limits.

Statuses follow FixMyStreet and Open311: new → acknowledged → in progress → resolved →
closed, plus rejected, duplicate and reopened (a "not fixed" answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ReportStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"


OPEN_STATUSES = (ReportStatus.NEW, ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS,
                 ReportStatus.REOPENED)

# What a handler's button may do from each status; anything else is a stale button.
TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.NEW: frozenset({ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS,
                                 ReportStatus.RESOLVED, ReportStatus.REJECTED,
                                 ReportStatus.DUPLICATE}),
    ReportStatus.ACKNOWLEDGED: frozenset({ReportStatus.IN_PROGRESS, ReportStatus.RESOLVED,
                                          ReportStatus.REJECTED, ReportStatus.DUPLICATE}),
    ReportStatus.IN_PROGRESS: frozenset({ReportStatus.RESOLVED, ReportStatus.REJECTED,
                                         ReportStatus.DUPLICATE}),
    ReportStatus.REOPENED: frozenset({ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS,
                                      ReportStatus.RESOLVED}),
    ReportStatus.RESOLVED: frozenset({ReportStatus.CLOSED, ReportStatus.REOPENED}),
    ReportStatus.CLOSED: frozenset({ReportStatus.REOPENED}),
    ReportStatus.REJECTED: frozenset(),
    ReportStatus.DUPLICATE: frozenset(),
}


def can_move(current: ReportStatus, target: ReportStatus) -> bool:
    return target in TRANSITIONS[current]


def reference(number: int) -> str:
    """R-0042: per community, zero-padded so lists sort and read well."""
    return f"R-{number:04d}"


class Limits(BaseModel):
    """A category's time limits: acknowledge within, resolve within."""

    model_config = ConfigDict(frozen=True)

    acknowledge: timedelta
    resolve: timedelta

    def due(self, filed_at: datetime) -> tuple[datetime, datetime]:
        return filed_at + self.acknowledge, filed_at + self.resolve


class Timer(StrEnum):
    """What the scheduler keeps for a report (the due work's kind)."""

    ACK_LIMIT = "report_ack"  # not acknowledged in time: the moderators hear
    ACK_SOON = "report_ack_soon"  # the handlers' reminder before it
    RESOLVE_LIMIT = "report_resolve"  # not resolved in time: the moderators hear
    RESOLVE_SOON = "report_resolve_soon"  # the handlers' reminder before it
    CONFIRM_WAIT = "report_confirm"  # no answer to "is it fixed?": closed unconfirmed
    STILL_FIXED = "report_still_fixed"  # weeks after closing: is it still fixed?
    OVERDUE = "report_overdue"  # past its resolve limit: its holder, again and again


@dataclass(frozen=True)
class FollowUps:
    """How long the bot waits before following a report up (from the configuration)."""

    confirm: timedelta  # for the reporter's answer to "is it fixed?"
    still_fixed: timedelta  # before asking whether it stayed fixed


def reminder_before(due: datetime, now: datetime) -> datetime:
    """When the handlers are reminded of a limit: a quarter of the way before it, at most
    two hours before."""
    return due - min(timedelta(hours=2), (due - now) / 4)


def _limit(limit: Timer, soon: Timer, due: datetime, now: datetime) -> list[
        tuple[Timer, datetime]]:
    return [(limit, due), (soon, reminder_before(due, now))]


# The handlers' reminder before each limit, and the limit it warns of.
WARNS_OF = {Timer.ACK_SOON: Timer.ACK_LIMIT, Timer.RESOLVE_SOON: Timer.RESOLVE_LIMIT}


def reminder_useful(goes_at: datetime, limit_at: datetime | None) -> bool:
    """A reminder that a limit is near helps only if it goes before the limit passes (held
    back by quiet hours past it, it is dropped: the limit's escalation says it then)."""
    return limit_at is not None and goes_at < limit_at


def timers_when_filed(limits: Limits, now: datetime) -> list[tuple[Timer, datetime]]:
    """What a new report arms: both limits, each with the handlers' reminder."""
    ack_due, resolve_due = limits.due(now)
    return [*_limit(Timer.ACK_LIMIT, Timer.ACK_SOON, ack_due, now),
            *_limit(Timer.RESOLVE_LIMIT, Timer.RESOLVE_SOON, resolve_due, now)]


def timers_when_moved(target: ReportStatus, now: datetime, limits: Limits,
                      follow_ups: FollowUps) -> list[tuple[Timer, datetime]]:
    """What moving a report to ``target`` arms: resolved waits for the reporter's answer;
    closed asks later whether it stayed fixed; reopened has its resolve limit again,
    counted from now."""
    if target is ReportStatus.RESOLVED:
        return [(Timer.CONFIRM_WAIT, now + follow_ups.confirm)]
    if target is ReportStatus.CLOSED:
        return [(Timer.STILL_FIXED, now + follow_ups.still_fixed)]
    if target is ReportStatus.REOPENED:
        return _limit(Timer.RESOLVE_LIMIT, Timer.RESOLVE_SOON, now + limits.resolve, now)
    return []


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    category: str
    description: str
    voice_file_id: str | None
    where_text: str
    unit_id: int | None
    latitude: float | None
    longitude: float | None
    reporter_id: int | None
    anonymous: bool
    status: ReportStatus
    created_at: datetime
    updated_at: datetime
    notices: list[list[int]]
    post_chat_id: int | None
    post_message_id: int | None
    assignee_id: int | None = None
    duplicate_of: int | None = None

    @property
    def ref(self) -> str:
        return reference(self.number)


class NoteKind(StrEnum):
    TEXT = "text"  # what a handler wrote, or a system note (an i18n msgid)
    RATING = "rating"  # the reporter's stars: kept off the timeline people read
    COMMENT = "comment"  # the reporter's or a neighbour's words
    ASSIGN = "assign"  # passed to someone


@dataclass(frozen=True)
class Note:
    """A timeline note as a value. Stored as text: a plain note as it is, the others as
    ``kind:value`` (``rating:4``, ``comment:still dark``, ``assign:42``)."""

    kind: NoteKind
    text: str = ""
    number: int | None = None  # the stars of a rating, the person of an assignment

    @classmethod
    def rating(cls, stars: int) -> Note:
        return cls(NoteKind.RATING, number=stars)

    @classmethod
    def comment(cls, text: str) -> Note:
        return cls(NoteKind.COMMENT, text=text)

    @classmethod
    def assigned(cls, user_id: int) -> Note:
        return cls(NoteKind.ASSIGN, number=user_id)

    @classmethod
    def read(cls, stored: str | None) -> Note | None:
        if not stored:
            return None
        kind, _sep, rest = stored.partition(":")
        if kind in (NoteKind.RATING, NoteKind.ASSIGN) and rest.isascii() and rest.isdigit():
            return cls(NoteKind(kind), number=int(rest))
        if kind == NoteKind.COMMENT and _sep:
            return cls(NoteKind.COMMENT, text=rest)
        return cls(NoteKind.TEXT, text=stored)

    def stored(self) -> str:
        if self.kind is NoteKind.TEXT:
            return self.text
        if self.kind is NoteKind.COMMENT:
            return f"{self.kind.value}:{self.text}"
        return f"{self.kind.value}:{self.number}"


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: ReportStatus
    actor_id: int | None
    note: str | None
    at: datetime

    @property
    def noted(self) -> Note | None:
        """The note as a value (None without one)."""
        return Note.read(self.note)

    @property
    def plain_note(self) -> str | None:
        """What a handler wrote (or a system note), if that is what the note is."""
        noted = self.noted
        return noted.text if noted is not None and noted.kind is NoteKind.TEXT else None


def overdue(status: ReportStatus, filed_at: datetime, limits: Limits, now: datetime) -> bool:
    """Past its acknowledge limit while still new, or past its resolve limit while open."""
    acknowledge_by, resolve_by = limits.due(filed_at)
    if status is ReportStatus.NEW and now >= acknowledge_by:
        return True
    return status in OPEN_STATUSES and now >= resolve_by
