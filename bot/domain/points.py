"""Participation points (积分): what an act earns, the daily cap, and levels."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Action(StrEnum):
    VOTE = "vote"
    REPORT = "report"
    REPORT_CONFIRMED_FIXED = "report_confirmed_fixed"
    TOPIC_SUPPORTED = "topic_supported"
    TOPIC_ADOPTED = "topic_adopted"
    VOLUNTEER = "volunteer"
    NEIGHBOUR_HELP = "neighbour_help"


class Level(StrEnum):
    """From 居民 to 社区英雄; names come from the catalogs."""

    RESIDENT = "resident"
    ACTIVE = "active"
    BACKBONE = "backbone"
    STAR = "star"
    HERO = "hero"


class PointsRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vote: int = Field(default=5, ge=0)
    report: int = Field(default=3, ge=0)
    report_confirmed_fixed: int = Field(default=5, ge=0)
    topic_supported: int = Field(default=1, ge=0)
    topic_adopted: int = Field(default=20, ge=0)
    volunteer: int = Field(default=10, ge=0)
    neighbour_help: int = Field(default=2, ge=0)

    def worth(self, action: Action) -> int:
        return int(getattr(self, action.value))


class DailyCaps(BaseModel):
    """The most points one person can earn from one kind of act in one local day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vote: int = Field(default=25, ge=0)
    report: int = Field(default=9, ge=0)
    report_confirmed_fixed: int = Field(default=15, ge=0)
    topic_supported: int = Field(default=5, ge=0)
    topic_adopted: int = Field(default=40, ge=0)
    volunteer: int = Field(default=20, ge=0)
    neighbour_help: int = Field(default=6, ge=0)

    def cap(self, action: Action) -> int:
        return int(getattr(self, action.value))


class Levels(BaseModel):
    """Points needed for each level, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resident: int = 0
    active: int = Field(default=50, ge=0)
    backbone: int = Field(default=200, ge=0)
    star: int = Field(default=500, ge=0)
    hero: int = Field(default=1000, ge=0)

    @model_validator(mode="after")
    def _increasing(self) -> Levels:
        values = [self.resident, self.active, self.backbone, self.star, self.hero]
        if values != sorted(values) or len(set(values)) != len(values):
            raise ValueError("level thresholds must increase: resident < active < backbone "
                             "< star < hero")
        return self

    def thresholds(self) -> list[tuple[Level, int]]:
        return [(level, int(getattr(self, level.value))) for level in Level]


def points_to_award(rules: PointsRules, caps: DailyCaps, action: Action,
                    earned_today: int) -> int:
    """What the act earns now, cut so today's total for this action stays within its cap."""
    room = max(caps.cap(action) - earned_today, 0)
    return min(rules.worth(action), room)


class Standing(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Level
    next_level: Level | None
    points_to_next: int | None


def standing(levels: Levels, total: int) -> Standing:
    """The level a total reaches, and how far the next one is."""
    reached = Level.RESIDENT
    for level, threshold in levels.thresholds():
        if total >= threshold:
            reached = level
        else:
            return Standing(level=reached, next_level=level, points_to_next=threshold - total)
    return Standing(level=reached, next_level=None, points_to_next=None)


def initials(name: str) -> str:
    """How a person appears on a leaderboard when they prefer not to show their name:
    王芳 → 王*, Alice Smith → A. S."""
    words = name.split()
    if not words:
        return "?"
    if len(words) == 1 and _is_cjk(words[0][0]):
        # A Chinese name: keep the family name, hide the given name.
        word = words[0]
        return word[0] + "*" * min(max(len(word) - 1, 1), 2)
    return " ".join(f"{w[0]}." for w in words[:3])


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"
