"""Round-table meetings (圆桌会议): a moderator calls one (M-1, M-2 …) with an agenda, a
time, a place or a call link and 10–20 seats as the essays suggest; residents sign up in
order — the first ``seats`` have a seat, the rest wait and move up when someone gives
theirs back; afterwards the organiser ticks who came and writes the minutes (协商纪要):
what was said per agenda item, and what was agreed — who does what by when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

SEATS_MAX = 50
AGENDA_MAX = 10


class MeetingStatus(StrEnum):
    OPEN = "open"  # taking sign-ups
    HELD = "held"  # minutes written
    CANCELLED = "cancelled"


class Action(BaseModel):
    """One thing agreed: what, who (as written), by when (as written)."""

    model_config = ConfigDict(frozen=True)

    what: str
    who: str = ""
    when: str = ""


class Meeting(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    title: str
    agenda: list[str]
    starts_at: datetime
    place: str
    seats: int
    organiser_id: int | None
    status: MeetingStatus
    minutes: dict | None
    background: dict | None = None  # text, photo, document (file ids)
    post_chat_id: int | None
    post_message_id: int | None

    @property
    def ref(self) -> str:
        return f"M-{self.number}"


def seated(signed: list[int], seats: int) -> tuple[list[int], list[int]]:
    """Who has a seat and who waits, from the sign-ups in order."""
    return signed[:seats], signed[seats:]


def parse_action(line: str) -> Action | None:
    """``what | who | by when`` (who and when may be left out); None for an empty line."""
    parts = [p.strip() for p in line.split("|")]
    if not parts or not parts[0]:
        return None
    return Action(what=parts[0], who=parts[1] if len(parts) > 1 else "",
                  when=" | ".join(parts[2:]) if len(parts) > 2 else "")
