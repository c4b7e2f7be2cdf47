"""Decisions (决议) and how they get done: an owner, a due date, progress in percent, and a
timeline, after Decidim's Accountability results; plus the 回头看 rating of the result.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict


class DecisionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


OPEN_DECISIONS = (DecisionStatus.PLANNED, DecisionStatus.IN_PROGRESS, DecisionStatus.BLOCKED)

TRANSITIONS: dict[DecisionStatus, frozenset[DecisionStatus]] = {
    DecisionStatus.PLANNED: frozenset({DecisionStatus.IN_PROGRESS, DecisionStatus.DONE,
                                       DecisionStatus.BLOCKED, DecisionStatus.CANCELLED}),
    DecisionStatus.IN_PROGRESS: frozenset({DecisionStatus.DONE, DecisionStatus.BLOCKED,
                                           DecisionStatus.CANCELLED}),
    DecisionStatus.BLOCKED: frozenset({DecisionStatus.IN_PROGRESS, DecisionStatus.DONE,
                                       DecisionStatus.CANCELLED}),
    DecisionStatus.DONE: frozenset(),
    DecisionStatus.CANCELLED: frozenset(),
}

# Blocked and cancelled need a reason everyone can read.
NEEDS_REASON = (DecisionStatus.BLOCKED, DecisionStatus.CANCELLED)


def can_move(current: DecisionStatus, target: DecisionStatus) -> bool:
    return target in TRANSITIONS[current]


def after_progress(current: DecisionStatus, percent: int) -> DecisionStatus:
    """Where a progress update leaves a decision: 100 % is done; any progress on a planned
    or blocked decision means work is under way."""
    if current not in OPEN_DECISIONS:
        return current
    if percent >= 100:
        return DecisionStatus.DONE
    if percent > 0 or current is DecisionStatus.BLOCKED:
        return DecisionStatus.IN_PROGRESS
    return current


def progress_bar(percent: int, width: int = 10) -> str:
    """▓▓▓▓░░░░░░ 40% — a bar that reads the same in any chat client."""
    percent = max(0, min(100, percent))
    filled = round(percent * width / 100)
    return "▓" * filled + "░" * (width - filled) + f" {percent}%"


def reference(number: int) -> str:
    return f"D-{number}"


def parse_reference(text: str) -> int | None:
    """D-3, d3 or 3: the decision's number."""
    cleaned = text.strip().upper().removeprefix("D").removeprefix("-")
    return int(cleaned) if cleaned.isdigit() and 0 < int(cleaned) < 10**6 else None


def average(stars: list[int]) -> Fraction | None:
    return Fraction(sum(stars), len(stars)) if stars else None


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    title: str
    poll_id: int | None
    topic_id: int | None
    status: DecisionStatus
    owner_id: int | None
    due_at: datetime | None
    progress: int
    reason: str | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None

    @property
    def ref(self) -> str:
        return reference(self.number)

    def overdue(self, now: datetime) -> bool:
        return self.status in OPEN_DECISIONS and self.due_at is not None and now >= self.due_at


class Milestone(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    done: bool


class UpdateKind(StrEnum):
    CREATED = "created"  # the decision was made
    PROGRESS = "progress"  # a progress update, or a change of status
    MILESTONE = "milestone"  # a milestone ticked


class Update(BaseModel):
    """One entry of a decision's timeline: its creation, a progress update or a change of
    status, or a milestone ticked."""

    model_config = ConfigDict(frozen=True)

    id: int
    actor_id: int | None
    status: DecisionStatus
    percent: int
    text: str | None
    next_step: str | None
    photos: list[str]
    at: datetime
    kind: UpdateKind = UpdateKind.PROGRESS


def listing_order(decisions: list[Decision], now: datetime) -> list[Decision]:
    """Overdue first, then open ones by due date (undated last), then the finished."""
    def key(d: Decision) -> tuple[int, float, int]:
        if d.overdue(now):
            rank = 0
        elif d.status in OPEN_DECISIONS:
            rank = 1
        else:
            rank = 2
        due = d.due_at.timestamp() if d.due_at else float("inf")
        return rank, due, d.number
    return sorted(decisions, key=key)
