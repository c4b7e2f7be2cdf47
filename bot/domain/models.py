"""The records the foundation keeps: communities, people, memberships, audit entries, due work."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.quiet_hours import QuietHours


class Role(StrEnum):
    """A person's role in a community, from least to most trusted."""

    RESIDENT = "resident"
    BUILDING_LEAD = "building_lead"
    HANDLER = "handler"
    MODERATOR = "moderator"


class Community(BaseModel):
    """One building group chat."""

    model_config = ConfigDict(frozen=True)

    id: int
    chat_id: int
    title: str
    language: str
    timezone: str
    quiet_hours: QuietHours
    active: bool = True
    leaderboard: bool = True
    # A topic with this many supporters goes to the moderators at once (None: off).
    support_threshold: int | None = None
    # Months between satisfaction survey rounds (None: quarterly; 0: none).
    survey_months: int | None = None
    # Days a decision is posted for objection by default (None: the deployment's).
    objection_days: int | None = None
    moderators_chat_id: int | None = None
    handlers_chat_id: int | None = None
    created_at: datetime

    def quiet_until(self, now: datetime) -> datetime | None:
        """If ``now`` is in the group's quiet hours, when they end; otherwise None.

        Every sender of unrequested messages asks this first and defers until then.
        """
        zone = ZoneInfo(self.timezone)
        if not self.quiet_hours.is_quiet(now, zone):
            return None
        return self.quiet_hours.next_allowed(now, zone)


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int
    name: str
    username: str | None = None
    language: str | None = None  # chosen with /lang
    app_language: str | None = None  # what their Telegram app is set to, if we have it
    started: bool = False
    public_name: str = "initials"  # how the leaderboard shows them: "name" or "initials"

    def reads(self, default: str) -> str:
        """The language to write to this person in private."""
        return self.language or self.app_language or default


class Membership(BaseModel):
    model_config = ConfigDict(frozen=True)

    community_id: int
    user_id: int
    role: Role
    categories: list[str] | None = None  # a handler's report categories; None: all

    def handles(self, category: str) -> bool:
        return self.role is Role.HANDLER and (not self.categories
                                              or category in self.categories)


class AuditEntry(BaseModel):
    """One privileged action: who did what, where, when. Append-only."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    community_id: int | None
    actor_id: int | None
    action: str
    details: dict[str, Any] = Field(default_factory=dict)
    at: datetime


class DueWork(BaseModel):
    """A piece of work the scheduler must do at or after ``due_at``."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 0


class Outgoing(BaseModel):
    """A message a business action owes: written to the outbox in the action's transaction,
    sent later by the outbox's runner. ``key`` names it for good (``poll:42:result``), so it
    is queued once and sent once; ``params`` are the Bot API method's parameters as JSON;
    ``remember`` names what to record once Telegram answers (a post's message id)."""

    model_config = ConfigDict(frozen=True)

    key: str
    chat_id: int
    method: str = "sendMessage"
    params: dict[str, Any] = Field(default_factory=dict)
    remember: dict[str, Any] | None = None
    not_before: datetime | None = None


class QueuedMessage(Outgoing):
    """An outbox row not yet delivered."""

    id: int
    attempts: int = 0
