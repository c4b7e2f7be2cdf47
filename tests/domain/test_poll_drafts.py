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
    settings, refusal = settings.choose(Setting.RULE, "civil_ordinary")
    assert refusal is None
    assert (settings.rule, settings.audience, settings.weighting, settings.multiple,
            settings.max_choices) == (Rule.CIVIL_ORDINARY, Audience.OWNERS, Weighting.AREA,
                                      False, 1)
    settings, refusal = settings.choose(Setting.RULE, "civil_major")
    assert (settings.rule, refusal) == (Rule.CIVIL_MAJOR, None)
    assert settings.audience is Audience.OWNERS and settings.weighting is Weighting.AREA


@pytest.mark.parametrize(("setting", "code"), [(Setting.AUDIENCE, "members"),
                                               (Setting.WEIGHTING, "person"),
                                               (Setting.MULTIPLE, "2"),
                                               (Setting.METHOD, "ranked")])
@pytest.mark.parametrize("rule", [Rule.CIVIL_ORDINARY, Rule.CIVIL_MAJOR])
def test_what_a_civil_code_rule_fixes_cannot_be_switched(setting, code, rule):
    before = civil(rule)
    after, refusal = before.choose(setting, code)
    assert refusal is Refusal.FIXED_BY_RULE
    assert after == before
    assert before.fixed() == {Setting.AUDIENCE, Setting.WEIGHTING, Setting.MULTIPLE,
                              Setting.METHOD}
    # Choosing what it already is changes nothing and is no refusal.
    assert before.choose(setting, before.current(setting)) == (before, None)


def test_leaving_the_civil_code_gives_back_the_usual_settings():
    settings, refusal = civil(Rule.CIVIL_MAJOR).choose(Setting.RULE, "plurality")
    assert refusal is None and settings.rule is Rule.PLURALITY
    # Not owners only, counted by area: the rule took those, and they go with it.
    assert (settings.audience, settings.weighting) == (Audience.VERIFIED, Weighting.PERSON)
    assert settings.fixed() == frozenset()
    settings, refusal = settings.choose(Setting.AUDIENCE, "members")
    assert (settings.audience, refusal) == (Audience.MEMBERS, None)


def test_a_civil_code_rule_is_refused_without_yes_no_abstain():
    settings = PollSettings(options=4, yes_no=False, rule=Rule.MAJORITY)
    after, refusal = settings.choose(Setting.RULE, "civil_ordinary")
    assert (after, refusal) == (settings, Refusal.NEEDS_YES_NO)


def test_each_setting_offers_its_choices_with_the_current_one():
    settings = PollSettings(options=3, yes_no=False)
    assert settings.choices(Setting.AUDIENCE) == ["members", "verified", "households",
                                                  "owners"]
    assert settings.current(Setting.AUDIENCE) == "verified"
    assert settings.choices(Setting.MULTIPLE) == ["1", "2", "3"]
    assert settings.choices(Setting.LIVE) == ["on", "off"]
    for setting in Setting:
        for code in settings.choices(setting):
            if setting is Setting.RULE and code.startswith("civil"):
                continue
            chosen, refusal = settings.choose(setting, code)
            assert refusal is None and chosen.current(setting) == code
    assert settings.choose(Setting.MULTIPLE, "3")[0].multiple is True
    with pytest.raises(ValueError):
        settings.choose(Setting.MULTIPLE, "4")


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
