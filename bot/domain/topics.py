"""Topics (议题): their life, how they rank, how similar titles are found, and when the
weekly roundup falls."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import jieba
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz, process, utils

from bot.domain.models import Community

TITLE_MAX = 80
DETAILS_MAX = 1000


class TopicStatus(StrEnum):
    PENDING = "pending"  # waiting for a moderator
    OPEN = "open"  # posted; residents support it
    SELECTED_VOTE = "vote"  # moderators put it to a vote
    SELECTED_MEETING = "meeting"  # moderators will discuss it at a meeting
    DISCUSSED = "discussed"  # a meeting's minutes name it; what comes of it is still open
    DECIDED = "decided"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"


# Which moves are allowed; anything else is a stale or forged button.
TRANSITIONS: dict[TopicStatus, frozenset[TopicStatus]] = {
    TopicStatus.PENDING: frozenset({TopicStatus.OPEN, TopicStatus.REJECTED, TopicStatus.MERGED}),
    TopicStatus.OPEN: frozenset({TopicStatus.SELECTED_VOTE, TopicStatus.SELECTED_MEETING,
                                 TopicStatus.DISCUSSED, TopicStatus.CLOSED,
                                 TopicStatus.MERGED}),
    # A vote that is cancelled puts the topic back on the list.
    TopicStatus.SELECTED_VOTE: frozenset({TopicStatus.DECIDED, TopicStatus.CLOSED,
                                          TopicStatus.OPEN}),
    # After the meeting: its minutes posted, agreed there, put to a vote, back on the list,
    # or closed.
    TopicStatus.SELECTED_MEETING: frozenset({TopicStatus.DISCUSSED, TopicStatus.DECIDED,
                                             TopicStatus.CLOSED, TopicStatus.OPEN,
                                             TopicStatus.SELECTED_VOTE}),
    # Discussed, with the minutes to show for it: the same ways on as after a meeting.
    TopicStatus.DISCUSSED: frozenset({TopicStatus.DECIDED, TopicStatus.CLOSED,
                                      TopicStatus.OPEN, TopicStatus.SELECTED_VOTE}),
    TopicStatus.DECIDED: frozenset(),
    TopicStatus.CLOSED: frozenset(),
    TopicStatus.REJECTED: frozenset(),
    TopicStatus.MERGED: frozenset(),
}
LISTED = (TopicStatus.OPEN, TopicStatus.SELECTED_VOTE, TopicStatus.SELECTED_MEETING,
          TopicStatus.DISCUSSED)
# Where a topic waits for the moderators to say what came of its meeting.
AWAITING_OUTCOME = (TopicStatus.SELECTED_MEETING, TopicStatus.DISCUSSED)


def reached_threshold(community: Community, topic: Topic, supporters: int) -> bool:
    """Whether an open topic has as many supporters as the group's threshold asks for a
    topic to go to its moderators at once (never, with the threshold off)."""
    return community.support_threshold is not None and topic.status is TopicStatus.OPEN \
        and supporters >= community.support_threshold


def can_move(current: TopicStatus, target: TopicStatus) -> bool:
    return target in TRANSITIONS[current]


def moves_into(target: TopicStatus) -> tuple[TopicStatus, ...]:
    """The states a topic may be in to move to ``target``."""
    return tuple(s for s, allowed in TRANSITIONS.items() if target in allowed)


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


# Chinese words that carry no topic: a shared 的 or 太 says nothing about two titles.
_FUNCTION_WORDS = frozenset("的 了 是 在 被 把 让 给 和 与 及 或 也 都 就 还 又 很 太 有 "
                            "吗 呢 吧 啊 呀 么 这 那 个 我们 你们 他们 大家 一下".split())
# The weighted word overlap of two Chinese titles runs lower than the fuzzy ratio of two
# Latin ones for the same closeness: its cut-off is this share of the configured one.
CHINESE_SCALE = 0.65


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's inverse document frequencies: a rare word ("快递") weighs more than a
    common one ("用")."""
    # Read from jieba's own table here: importing jieba.analyse opens it and never closes.
    text = (resources.files("jieba") / "analyse" / "idf.txt").read_text(encoding="utf-8")
    freq: dict[str, float] = {}
    for line in text.splitlines():
        word, _space, value = line.strip().partition(" ")
        if word and value:
            freq[word] = float(value)
    values = sorted(freq.values())
    return freq, values[len(values) // 2]


def prepare_similarity() -> None:
    """Load jieba's dictionary now (about a second, once) rather than on the first title."""
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    _idf()


def _words(text: str) -> set[str]:
    return {w for w in jieba.cut_for_search(text.lower(), HMM=False)
            if w.strip() and w not in _FUNCTION_WORDS and any(ch.isalnum() for ch in w)}


def chinese_closeness(a: str, b: str) -> float:
    """0–100: how much of the shorter title's meaning the other shares. The titles are cut
    into words (jieba, with the parts of long words), each weighed by its rarity, single
    characters at half; the shared weight over the lighter title's weight."""
    freq, median = _idf()

    def weight(word: str) -> float:
        return freq.get(word, median) * (0.5 if len(word) == 1 else 1.0)

    first, second = _words(a), _words(b)
    lighter = min(sum(map(weight, first)), sum(map(weight, second)))
    if lighter <= 0:
        return 0.0
    return 100 * sum(map(weight, first & second)) / lighter


def similar(title: str, candidates: Sequence[tuple[int, str]], *, threshold: int,
            limit: int = 3) -> list[int]:
    """Ids of the candidates whose titles are close to ``title``, closest first.

    Latin text: token_set_ratio forgives word order and extra words ("parking at night"
    vs "night parking problem"). Chinese has no spaces between words and says one thing
    in many ways ("快递柜不够用", "楼下快递柜太少"): it is compared by the words the
    titles share (:func:`chinese_closeness`).
    """
    if not title.strip() or not candidates:
        return []
    if _has_cjk(title):
        cutoff = threshold * CHINESE_SCALE
        scored = sorted(((chinese_closeness(title, text), -topic_id, topic_id)
                         for topic_id, text in candidates), reverse=True)
        return [topic_id for score, _order, topic_id in scored if score >= cutoff][:limit]
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
    # The round-table meeting whose minutes discussed it (M-2), and a link to them.
    discussed_at: str | None = None
    minutes_link: str | None = None
    created_at: datetime
    post_chat_id: int | None
    post_message_id: int | None
    notices: list[list[int]]

    @property
    def ref(self) -> str:
        return reference(self.number)
