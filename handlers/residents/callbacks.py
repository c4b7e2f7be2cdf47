"""The buttons of joining and the roster, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, button
from bot.domain.households import Relation

# /join, in private: the group, the unit, how one lives there, no area to give.
JOIN_FOR = button("jn:c", Id)
UNIT = button("jn:u", Id)
RELATION = button("jn:r", Choice(*(r.value for r in Relation)))
NO_AREA = button("jn:a:skip")
# A moderator's answer to a join request.
DECIDE = button("jr", Id, Choice("ok", "no"))
# ... approving an owner as the entry of the building's register they are (request, entry).
LINK = button("jr:l", Id, Id)
# /residents, in private: which group's roster.
ROSTER_FOR = button("rs:c", Id)

JOIN = (JOIN_FOR, UNIT, RELATION, NO_AREA)
