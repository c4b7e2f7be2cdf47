"""The buttons of reports, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, Index, Word, button

# The filing flow, in private.
CATEGORY = button("rp:c", Word)
PHOTOS_DONE = button("rp:p:done")
WHERE_UNIT = button("rp:w:u", Id)  # the reporter's own home
WHERE_AREA = button("rp:w:a", Index(100))  # one of the building's common areas
SUBMIT = button("rp:go")
ANONYMOUS = button("rp:anon")
# A handler's buttons under the report's card; reassigning it to someone.
HANDLE = button("rh", Id, Choice("ack", "start", "resolve", "reject", "pass"))
REASSIGN = button("ra", Id, Id)
# "Me too" under the report's post in the group.
ME_TOO = button("rm", Id)
# The reporter's follow-up: is it fixed, how was it handled, is it still fixed.
FIXED = button("rf", Id, Choice("yes", "no"))
RATING = button("rr", Id, Index(6))
STILL_FIXED = button("rk", Id, Choice("yes", "no"))

WHERE = (WHERE_UNIT, WHERE_AREA)
# Buttons of a flow: pressed outside it, they are out of date.
FLOWS = (CATEGORY, PHOTOS_DONE, *WHERE, SUBMIT, ANONYMOUS, HANDLE)
