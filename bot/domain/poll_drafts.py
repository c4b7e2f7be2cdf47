"""A poll being prepared: its settings are one value, checked together.

The Civil Code's rules for owners' decisions (Art. 278) are not a setting among others:
choosing one fixes who votes (owners, one ballot per unit), how votes weigh (by floor
area, with the owner headcount beside it), and the answers (Yes / No / Abstain, one of
them). While such a rule is chosen, those settings cannot be switched away from it; to
change them, the moderator chooses another rule first.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from bot.domain.polls import CIVIL_RULES, Audience, Rule, Weighting

T = TypeVar("T")


class Setting(StrEnum):
    AUDIENCE = "audience"
    WEIGHTING = "weighting"
    RULE = "rule"
    MULTIPLE = "multiple"
    LIVE = "live"
    SECRET = "secret"


class Refusal(StrEnum):
    """Why a setting did not change."""

    FIXED_BY_RULE = "fixed_by_rule"  # the Civil Code rule decides it
    NEEDS_YES_NO = "needs_yes_no"  # a Civil Code rule needs the Yes / No / Abstain answers


class PollSettings(BaseModel):
    """The settings of a poll in preparation (the question, options and deadline are
    checked as they are typed)."""

    model_config = ConfigDict(frozen=True)

    options: int  # how many answers there are
    yes_no: bool  # the answers are Yes / No / Abstain
    audience: Audience = Audience.VERIFIED
    weighting: Weighting = Weighting.PERSON
    rule: Rule = Rule.PLURALITY
    multiple: bool = False
    max_choices: int = 1
    live: bool = True
    secret: bool = False

    @model_validator(mode="after")
    def _together(self) -> PollSettings:
        if not 1 <= self.max_choices <= self.options:
            raise ValueError("max_choices must be between 1 and the number of options")
        if self.multiple != (self.max_choices > 1):
            raise ValueError("several choices means more than one may be chosen")
        if self.civil and not (self.yes_no and self.audience is Audience.OWNERS
                               and self.weighting is Weighting.AREA and not self.multiple):
            raise ValueError("a Civil Code rule takes owners, one ballot per unit, weighs by "
                             "floor area and asks Yes / No / Abstain, one of them")
        return self

    @property
    def civil(self) -> bool:
        return self.rule in CIVIL_RULES

    def fixed(self) -> frozenset[Setting]:
        """The settings the chosen rule decides."""
        if self.civil:
            return frozenset({Setting.AUDIENCE, Setting.WEIGHTING, Setting.MULTIPLE})
        return frozenset()

    def next(self, setting: Setting) -> tuple[PollSettings, Refusal | None]:
        """The settings after pressing ``setting`` once: it moves to its next value, or
        stays, with the reason."""
        if setting in self.fixed():
            return self, Refusal.FIXED_BY_RULE
        if setting is Setting.AUDIENCE:
            return self._with(audience=_after(list(Audience), self.audience)), None
        if setting is Setting.WEIGHTING:
            return self._with(weighting=_after(list(Weighting), self.weighting)), None
        if setting is Setting.MULTIPLE:
            steps = [(False, 1)] + [(True, n) for n in range(2, self.options + 1)]
            current = (self.multiple, self.max_choices)
            multiple, most = _after(steps, current) if current in steps else steps[0]
            return self._with(multiple=multiple, max_choices=most), None
        if setting is Setting.LIVE:
            return self._with(live=not self.live), None
        if setting is Setting.SECRET:
            return self._with(secret=not self.secret), None
        return self._next_rule()

    def _next_rule(self) -> tuple[PollSettings, Refusal | None]:
        rule = _after(list(Rule), self.rule)
        refusal = None
        if rule in CIVIL_RULES and not self.yes_no:
            rule, refusal = Rule.PLURALITY, Refusal.NEEDS_YES_NO
        if rule in CIVIL_RULES:
            return self._with(rule=rule, audience=Audience.OWNERS, weighting=Weighting.AREA,
                              multiple=False, max_choices=1), refusal
        return self._with(rule=rule), refusal

    def _with(self, **changes: object) -> PollSettings:
        return PollSettings.model_validate({**self.model_dump(), **changes})


def _after(values: list[T], current: T) -> T:
    return values[(values.index(current) + 1) % len(values)]
