"""The buttons of decisions, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, Index, button

# The creation flow, in private.
CREATE_FOR = button("dn:g", Id)
OWNER = button("dn:o", Choice("me", "none"))
OWNER_PERSON = button("dn:op", Id)  # one of the group's handlers or building leads
NO_DUE_DATE = button("dn:d:none")
NO_MILESTONES = button("dn:m:none")
# Posting progress: which decision, how far, no next step.
PICK = button("dp:d", Id)
PERCENT = button("dp:p", Index(101))
NO_NEXT_STEP = button("dp:n:skip")
# Following one, a milestone done, a rating (回头看).
FOLLOW = button("df", Id)
MILESTONE = button("dm", Id, Id)
RATE = button("dr", Id, Index(6))
# A decision made by a vote, set up from the moderators' notice: "I will own it", a due date.
TAKE = button("dt", Id)
DUE_IN = button("du", Id, Choice("2w", "1m", "3m"))

ALL = (CREATE_FOR, OWNER, OWNER_PERSON, NO_DUE_DATE, NO_MILESTONES, PICK, PERCENT,
       NO_NEXT_STEP, FOLLOW, MILESTONE, RATE, TAKE, DUE_IN)
