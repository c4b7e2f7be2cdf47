"""A poll's settings go together: a Civil Code rule fixes who votes, how votes weigh and
the answers, and nothing switches them away while it is chosen."""

import pytest
from pydantic import ValidationError

from bot.domain.poll_drafts import PollSettings, Refusal, Setting
from bot.domain.polls import Audience, Rule, Weighting


def yes_no(**settings):
    return PollSettings(options=3, yes_no=True, **settings)


def civil(rule=Rule.CIVIL_ORDINARY):
    return yes_no(rule=rule, audience=Audience.OWNERS, weighting=Weighting.AREA)


def test_choosing_a_civil_code_rule_brings_its_requirements():
    settings = yes_no(audience=Audience.MEMBERS, weighting=Weighting.PERSON, multiple=True,
                      max_choices=2, rule=Rule.MAJORITY)
    settings, refusal = settings.next(Setting.RULE)
    assert refusal is None
    assert (settings.rule, settings.audience, settings.weighting, settings.multiple,
            settings.max_choices) == (Rule.CIVIL_ORDINARY, Audience.OWNERS, Weighting.AREA,
                                      False, 1)
    settings, refusal = settings.next(Setting.RULE)
    assert (settings.rule, refusal) == (Rule.CIVIL_MAJOR, None)
    assert settings.audience is Audience.OWNERS and settings.weighting is Weighting.AREA


@pytest.mark.parametrize("setting", [Setting.AUDIENCE, Setting.WEIGHTING, Setting.MULTIPLE])
@pytest.mark.parametrize("rule", [Rule.CIVIL_ORDINARY, Rule.CIVIL_MAJOR])
def test_what_a_civil_code_rule_fixes_cannot_be_switched(setting, rule):
    before = civil(rule)
    after, refusal = before.next(setting)
    assert refusal is Refusal.FIXED_BY_RULE
    assert after == before
    assert before.fixed() == {Setting.AUDIENCE, Setting.WEIGHTING, Setting.MULTIPLE}


def test_leaving_the_civil_code_frees_the_settings_again():
    settings, _ = civil(Rule.CIVIL_MAJOR).next(Setting.RULE)
    assert settings.rule is Rule.PLURALITY and settings.fixed() == frozenset()
    settings, refusal = settings.next(Setting.AUDIENCE)
    assert (settings.audience, refusal) == (Audience.MEMBERS, None)


def test_the_civil_code_rules_are_skipped_without_yes_no_abstain():
    settings = PollSettings(options=4, yes_no=False, rule=Rule.MAJORITY)
    settings, refusal = settings.next(Setting.RULE)
    assert (settings.rule, refusal) == (Rule.PLURALITY, Refusal.NEEDS_YES_NO)
    assert settings.audience is Audience.VERIFIED


def test_the_other_settings_cycle():
    settings = PollSettings(options=3, yes_no=False)
    seen = []
    for _ in range(4):
        settings, refusal = settings.next(Setting.AUDIENCE)
        assert refusal is None
        seen.append(settings.audience)
    assert seen == [Audience.HOUSEHOLDS, Audience.OWNERS, Audience.MEMBERS, Audience.VERIFIED]
    weights = []
    for _ in range(3):
        settings, _r = settings.next(Setting.WEIGHTING)
        weights.append(settings.weighting)
    assert weights == [Weighting.HOUSEHOLD, Weighting.AREA, Weighting.PERSON]
    choices = []
    for _ in range(3):
        settings, _r = settings.next(Setting.MULTIPLE)
        choices.append((settings.multiple, settings.max_choices))
    assert choices == [(True, 2), (True, 3), (False, 1)]
    assert settings.next(Setting.LIVE)[0].live is False
    assert settings.next(Setting.SECRET)[0].secret is True


@pytest.mark.parametrize("settings", [
    {"rule": Rule.CIVIL_ORDINARY, "audience": Audience.MEMBERS, "weighting": Weighting.AREA},
    {"rule": Rule.CIVIL_MAJOR, "audience": Audience.OWNERS, "weighting": Weighting.PERSON},
    {"rule": Rule.CIVIL_MAJOR, "audience": Audience.OWNERS, "weighting": Weighting.AREA,
     "multiple": True, "max_choices": 2},
    {"multiple": True, "max_choices": 1},
    {"max_choices": 4},
    {"max_choices": 0},
])
def test_settings_that_do_not_go_together_are_refused(settings):
    with pytest.raises(ValidationError):
        yes_no(**settings)


def test_a_civil_code_rule_needs_yes_no_abstain():
    with pytest.raises(ValidationError):
        PollSettings(options=3, yes_no=False, rule=Rule.CIVIL_ORDINARY,
                     audience=Audience.OWNERS, weighting=Weighting.AREA)
