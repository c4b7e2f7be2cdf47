"""Topics (议题): their life, how they rank, how similar titles are found, and when the
weekly roundup falls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz, process, utils

TITLE_MAX = 80
DETAILS_MAX = 1000


class TopicStatus(StrEnum):
    PENDING = "pending"  # waiting for a moderator
    OPEN = "open"  # posted; residents support it
    SELECTED_VOTE = "vote"  # moderators put it to a vote
    SELECTED_MEETING = "meeting"  # moderators will discuss it at a meeting
    DECIDED = "decided"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"


# Which moves are allowed; anything else is a stale or forged button.
TRANSITIONS: dict[TopicStatus, frozenset[TopicStatus]] = {
    TopicStatus.PENDING: frozenset({TopicStatus.OPEN, TopicStatus.REJECTED, TopicStatus.MERGED}),
    TopicStatus.OPEN: frozenset({TopicStatus.SELECTED_VOTE, TopicStatus.SELECTED_MEETING,
                                 TopicStatus.CLOSED, TopicStatus.MERGED}),
    TopicStatus.SELECTED_VOTE: frozenset({TopicStatus.DECIDED, TopicStatus.CLOSED}),
    TopicStatus.SELECTED_MEETING: frozenset({TopicStatus.DECIDED, TopicStatus.CLOSED}),
    TopicStatus.DECIDED: frozenset(),
    TopicStatus.CLOSED: frozenset(),
    TopicStatus.REJECTED: frozenset(),
    TopicStatus.MERGED: frozenset(),
}
LISTED = (TopicStatus.OPEN, TopicStatus.SELECTED_VOTE, TopicStatus.SELECTED_MEETING)


def can_move(current: TopicStatus, target: TopicStatus) -> bool:
    return target in TRANSITIONS[current]


class Ranked(BaseModel):
    """What ranking needs to know of a topic."""

    model_config = ConfigDict(frozen=True)

    id: int
    supports: int
    urgent: bool
    created_at: datetime


def rank(topics: Iterable[Ranked], *, urgency_first: bool = False) -> list[Ranked]:
    """Most supported first, newest first on ties; the roundup puts urgent ones on top."""
    return sorted(topics, key=lambda t: (
        not t.urgent if urgency_first else False, -t.supports, -t.created_at.timestamp(), -t.id))


def similar(title: str, candidates: Sequence[tuple[int, str]], *, threshold: int,
            limit: int = 3) -> list[int]:
    """Ids of the candidates whose titles are close to ``title``, closest first.

    token_set_ratio forgives word order and extra words ("parking at night" vs "night
    parking problem"); for Chinese, which has no spaces, it compares characters.
    """
    if not title.strip() or not candidates:
        return []
    choices = {topic_id: text for topic_id, text in candidates}
    matches = process.extract(title, choices, scorer=fuzz.token_set_ratio,
                              processor=utils.default_process, score_cutoff=threshold,
                              limit=limit)
    return [topic_id for _text, _score, topic_id in matches]


def week_start(now: datetime, timezone: str) -> datetime:
    """Monday 00:00 of the local week containing ``now`` (the weekly limit's window)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone)




def reference(number: int) -> str:
    """How people refer to a topic: T-7."""
    return f"T-{number}"


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    title: str
    details: str
    category: str
    photo_file_id: str | None
    author_id: int | None  # None when anonymous (or the author asked to be forgotten)
    anonymous: bool
    status: TopicStatus
    urgent: bool
    reason: str | None
    merged_into: int | None
    meeting_at: datetime | None
    created_at: datetime
    post_chat_id: int | None
    post_message_id: int | None
    notices: list[list[int]]

    @property
    def ref(self) -> str:
        return reference(self.number)
