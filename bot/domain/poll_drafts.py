"""A poll being prepared: its settings are one value, checked together.

The Civil Code's rules for owners' decisions (Art. 278) are not a setting among others:
choosing one fixes who votes (owners, one ballot per unit), how votes weigh (by floor
area, with the owner headcount beside it), and the answers (Yes / No / Abstain, one of
them). While such a rule is chosen, those settings cannot be switched away from it; to
change them, the moderator chooses another rule first.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

from bot.domain.polls import CIVIL_RULES, Audience, Method, Rule, Weighting


class Setting(StrEnum):
    AUDIENCE = "audience"
    WEIGHTING = "weighting"
    RULE = "rule"
    MULTIPLE = "multiple"
    LIVE = "live"
    SECRET = "secret"
    METHOD = "method"


class Refusal(StrEnum):
    """Why a setting did not change."""

    FIXED_BY_RULE = "fixed_by_rule"  # the Civil Code rule decides it
    NEEDS_YES_NO = "needs_yes_no"  # a Civil Code rule needs the Yes / No / Abstain answers
    FIXED_BY_METHOD = "fixed_by_method"  # a way of deciding other than one choice decides it


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
    # How a ballot is filled in; all but one choice are entered in private, and for dots
    # ``max_choices`` is how many dots each voter spreads.
    method: Method = Method.CHOICE

    @model_validator(mode="after")
    def _together(self) -> PollSettings:
        if not 1 <= self.max_choices <= self.options:
            raise ValueError("max_choices must be between 1 and the number of options")
        if self.method is Method.CHOICE and self.multiple != (self.max_choices > 1):
            raise ValueError("several choices means more than one may be chosen")
        if self.method is not Method.CHOICE and (
                self.multiple or self.rule is not Rule.PLURALITY
                or (self.method is not Method.DOTS and self.max_choices != 1)):
            raise ValueError("a way of deciding other than one choice has its own rule and "
                             "its own ballot")
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
            return frozenset({Setting.AUDIENCE, Setting.WEIGHTING, Setting.MULTIPLE,
                              Setting.METHOD})
        if self.method is Method.DOTS:
            return frozenset({Setting.RULE})
        if self.method is not Method.CHOICE:
            return frozenset({Setting.RULE, Setting.MULTIPLE})
        return frozenset()

    def refusal(self, setting: Setting) -> Refusal:
        """Why ``setting`` (one of :meth:`fixed`) cannot change."""
        return Refusal.FIXED_BY_RULE if self.civil else Refusal.FIXED_BY_METHOD

    def choices(self, setting: Setting) -> list[str]:
        """What ``setting`` can be, as the codes its buttons carry, in a fixed order."""
        if setting is Setting.AUDIENCE:
            return [a.value for a in Audience]
        if setting is Setting.WEIGHTING:
            return [w.value for w in Weighting]
        if setting is Setting.RULE:
            return [r.value for r in Rule]
        if setting is Setting.MULTIPLE:
            return [str(n) for n in range(1, self.options + 1)]
        if setting is Setting.METHOD:
            return [m.value for m in Method]
        return ["on", "off"]

    def current(self, setting: Setting) -> str:
        """The code of the value ``setting`` has now."""
        return {Setting.AUDIENCE: self.audience.value, Setting.WEIGHTING: self.weighting.value,
                Setting.RULE: self.rule.value, Setting.MULTIPLE: str(self.max_choices),
                Setting.LIVE: "on" if self.live else "off",
                Setting.SECRET: "on" if self.secret else "off",
                Setting.METHOD: self.method.value}[setting]

    def choose(self, setting: Setting, code: str) -> tuple[PollSettings, Refusal | None]:
        """The settings with ``setting`` set to ``code`` (one of :meth:`choices`), or as
        they were, with the reason. Choosing a Civil Code rule brings what it takes;
        leaving one gives back the usual who-votes and counting, not the rule's."""
        if code not in self.choices(setting):
            raise ValueError(f"{code!r} is not a choice of {setting}")
        if setting in self.fixed() and code != self.current(setting):
            return self, self.refusal(setting)
        if setting is Setting.AUDIENCE:
            return self._with(audience=Audience(code)), None
        if setting is Setting.WEIGHTING:
            return self._with(weighting=Weighting(code)), None
        if setting is Setting.MULTIPLE and self.method is Method.DOTS:
            return self._with(max_choices=int(code)), None
        if setting is Setting.MULTIPLE:
            return self._with(multiple=code != "1", max_choices=int(code)), None
        if setting is Setting.METHOD:
            method = Method(code)
            if method is self.method:
                return self, None
            dots = min(3, self.options) if method is Method.DOTS else 1
            return self._with(method=method, rule=Rule.PLURALITY, multiple=False,
                              max_choices=dots), None
        if setting is Setting.LIVE:
            return self._with(live=code == "on"), None
        if setting is Setting.SECRET:
            return self._with(secret=code == "on"), None
        return self._ruled(Rule(code))

    def _ruled(self, rule: Rule) -> tuple[PollSettings, Refusal | None]:
        if rule in CIVIL_RULES:
            if not self.yes_no:
                return self, Refusal.NEEDS_YES_NO
            return self._with(rule=rule, audience=Audience.OWNERS, weighting=Weighting.AREA,
                              multiple=False, max_choices=1), None
        if self.civil:
            defaults = PollSettings(options=self.options, yes_no=self.yes_no)
            return self._with(rule=rule, audience=defaults.audience,
                              weighting=defaults.weighting), None
        return self._with(rule=rule), None

    def _with(self, **changes: object) -> PollSettings:
        return PollSettings.model_validate({**self.model_dump(), **changes})

