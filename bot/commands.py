"""The commands the bot understands: one table feeds setMyCommands and /help."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.models import Role
from bot.i18n import N_


class Where(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # an i18n msgid, marked with N_
    where: frozenset[Where]
    role: Role = Role.RESIDENT


_BOTH = frozenset({Where.PRIVATE, Where.GROUP})

# Order is the order people see in the menu and in /help. Feature issues add their rows.
COMMANDS: tuple[Command, ...] = (
    Command("start", N_("Start talking with the bot"), frozenset({Where.PRIVATE})),
    Command("help", N_("What the bot can do for you here"), _BOTH),
    Command("join", N_("Join your building's roster (your unit)"), _BOTH),
    Command("topic", N_("Propose a topic for the building"), _BOTH),
    Command("topics", N_("Open topics, most supported first"), _BOTH),
    Command("polls", N_("Open and recent polls"), frozenset({Where.GROUP})),
    Command("report", N_("Report a problem with photos"), _BOTH),
    Command("reports", N_("My reports and their status"), frozenset({Where.PRIVATE})),
    Command("audit", N_("Check a poll's vote log, or your receipt: /audit P-3 [receipt]"),
            frozenset({Where.GROUP})),
    Command("notvoted", N_("Households that have not voted yet (sent in private): "
                           "/notvoted P-3"), frozenset({Where.GROUP}), Role.BUILDING_LEAD),
    Command("answer", N_("Answer residents' questions about announced polls"),
            frozenset({Where.PRIVATE}), Role.MODERATOR),
    Command("decisions", N_("What was decided, who does it, how far along"), _BOTH),
    Command("decision", N_("One decision and its timeline: /decision D-1"), _BOTH),
    Command("progress", N_("Post progress on a decision you own"), _BOTH),
    Command("needhelp", N_("Ask neighbours for help"), _BOTH),
    Command("offerhelp", N_("Offer neighbours your help"), _BOTH),
    Command("timebank", N_("Your time bank: hours given, credits, giving to your household"),
            _BOTH),
    Command("volunteer", N_("Post a volunteer activity with seats"), _BOTH, Role.MODERATOR),
    Command("meeting", N_("Call a round-table meeting; /meeting M-1: who is coming"), _BOTH,
            Role.MODERATOR),
    Command("survey", N_("Rate the committee, the property management and the handlers"),
            _BOTH),
    Command("rewards", N_("Rewards to spend your points on"), _BOTH),
    Command("summary", N_("The week in the building"), _BOTH),
    Command("me", N_("My unit, role, points and level"), frozenset({Where.PRIVATE})),
    Command("top", N_("This month's most active neighbours"), frozenset({Where.GROUP})),
    Command("lang", N_("Choose your language"), _BOTH),
    Command("settings", N_("Group settings: language, time zone, quiet hours"),
            frozenset({Where.GROUP}), Role.MODERATOR),
    Command("role", N_("Give someone a role: /role @name moderator|handler|building_lead|resident"),
            frozenset({Where.GROUP}), Role.MODERATOR),
    Command("residents", N_("The roster of residents (sent in private)"), _BOTH,
            Role.MODERATOR),
    Command("poll", N_("Create a poll"), _BOTH, Role.MODERATOR),
    Command("announce", N_("Schedule an announcement"), _BOTH, Role.MODERATOR),
    Command("announcements", N_("Scheduled announcements: pause or delete"), _BOTH,
            Role.MODERATOR),
    Command("export", N_("A poll's minutes as CSV and XLSX: /export P-3"),
            frozenset({Where.GROUP}), Role.MODERATOR),
    Command("void", N_("Void a household's ballot, with the reason: /void P-3 3-2-501 reason"),
            frozenset({Where.GROUP}), Role.MODERATOR),
    Command("mydata", N_("Get a file of everything stored about you"),
            frozenset({Where.PRIVATE})),
    Command("forgetme", N_("Remove your personal data"), frozenset({Where.PRIVATE})),
    Command("cancel", N_("Stop what you are doing with the bot"), frozenset({Where.PRIVATE})),
)


def visible(where: Where, role: Role) -> list[Command]:
    """The commands someone with ``role`` may use ``where``."""
    allowed = {Role.RESIDENT}
    if role is not Role.RESIDENT:
        allowed.add(role)
    if role is Role.MODERATOR:
        allowed |= set(Role)
    return [c for c in COMMANDS if where in c.where and c.role in allowed]
