"""Volunteer activities (志愿活动): a moderator posts one (a clean-up, a garden day) with a
time and seats (V-1, V-2 …); residents take a seat or give it back; afterwards the
organiser ticks who came, and each attendee earns the volunteering points and time credits
for the hours at the kind's rate."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.domain.helping import Kind

SEATS_MAX = 200


class ActivityStatus(StrEnum):
    OPEN = "open"  # taking sign-ups (until it starts)
    HELD = "held"  # attendance confirmed: points and credits given
    CANCELLED = "cancelled"


class Activity(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    title: str
    kind: Kind
    starts_at: datetime
    minutes: int
    seats: int
    organiser_id: int
    status: ActivityStatus
    post_chat_id: int | None
    post_message_id: int | None

    @property
    def ref(self) -> str:
        return f"V-{self.number}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


class ActivityError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def may_sign_up(activity: Activity, taken: int, already: bool, now: datetime) -> None:
    if activity.status is not ActivityStatus.OPEN or now >= activity.starts_at:
        raise ActivityError("closed")
    if already:
        raise ActivityError("already")
    if taken >= activity.seats:
        raise ActivityError("full")


def may_confirm_attendance(activity: Activity, user_id: int, now: datetime) -> None:
    if user_id != activity.organiser_id:
        raise ActivityError("not_organiser")
    if activity.status is not ActivityStatus.OPEN:
        raise ActivityError("settled")
    if now < activity.starts_at:
        raise ActivityError("too_early")
