"""The buttons of announcements, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, button
from bot.domain.announcements import Repeat

# The creation flow, in private.
CREATE_FOR = button("ac:g", Id)
WHEN = button("ac:w", Choice("now", "once", *(r.value for r in Repeat)))
OPTION = button("ac:o", Choice("pin", "quiet"))
PUBLISH = button("ac:go")
# /announcements: pause, resume or delete one.
MANAGE = button("an", Id, Choice("pause", "resume", "delete"))

ALL = (CREATE_FOR, WHEN, OPTION, PUBLISH, MANAGE)
