"""Issue reports (随手拍): the life of a report and its time limits.

Statuses follow FixMyStreet and Open311: new → acknowledged → in progress → resolved →
closed, plus rejected, duplicate and reopened (a "not fixed" answer).
"""

from __future__ import annotations

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


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: ReportStatus
    actor_id: int | None
    note: str | None
    at: datetime


def overdue(status: ReportStatus, filed_at: datetime, limits: Limits, now: datetime) -> bool:
    """Past its acknowledge limit while still new, or past its resolve limit while open."""
    acknowledge_by, resolve_by = limits.due(filed_at)
    if status is ReportStatus.NEW and now >= acknowledge_by:
        return True
    return status in OPEN_STATUSES and now >= resolve_by
