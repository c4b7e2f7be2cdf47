import pytest

from bot.commands import Where, visible
from bot.deeplinks import DeepLink
from bot.domain.models import Role
from bot.domain.roles import effective_role, parse_role


def test_chat_admins_are_moderators_whatever_was_granted():
    assert effective_role(None, is_chat_admin=True) is Role.MODERATOR
    assert effective_role(Role.HANDLER, is_chat_admin=True) is Role.MODERATOR
    assert effective_role(Role.HANDLER, is_chat_admin=False) is Role.HANDLER
    assert effective_role(None, is_chat_admin=False) is Role.RESIDENT


@pytest.mark.parametrize(("text", "role"), [
    ("moderator", Role.MODERATOR), ("Handler", Role.HANDLER), ("building_lead",
                                                               Role.BUILDING_LEAD),
    ("楼栋长", Role.BUILDING_LEAD), ("resident", Role.RESIDENT), ("admin", None), ("", None),
])
def test_parse_role(text, role):
    assert parse_role(text) is role


def test_menus_follow_roles():
    resident = {c.name for c in visible(Where.GROUP, Role.RESIDENT)}
    moderator = {c.name for c in visible(Where.GROUP, Role.MODERATOR)}
    assert "settings" not in resident and "role" not in resident
    assert {"settings", "role", "help"} <= moderator
    assert "settings" not in {c.name for c in visible(Where.PRIVATE, Role.MODERATOR)}


def test_deep_links_round_trip_and_refuse_junk():
    link = DeepLink(action="report", community_id=42)
    assert link.payload == "report_42"
    assert link.url("yishi_bot") == "https://t.me/yishi_bot?start=report_42"
    assert DeepLink.parse("report_42") == link
    for junk in ["", "report", "report_", "_42", "REPORT_42", "report_4x", "a" * 30 + "_1",
                 "report_42; drop"]:
        assert DeepLink.parse(junk) is None
