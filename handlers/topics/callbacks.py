"""The buttons of topics, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, Word, button

# The proposing flow, in private.
PROPOSE_FOR = button("tn:g", Id)
SUPPORT_SIMILAR = button("tn:s", Id)  # back a similar open topic instead
PROPOSE_ANYWAY = button("tn:go")
CATEGORY = button("tn:c", Word)
NO_PHOTO = button("tn:p:skip")
ANONYMITY = button("tn:a", Choice("name", "anon"))
# Moderation: approve, reject, merge (into which), and what to do with a selected topic.
MODERATE = button("tp", Id, Choice("ok", "no", "mg"))
MERGE_INTO = button("tm", Id, Id)
SELECT = button("ts", Id, Choice("vote", "meet", "close", "urgent", "agreed", "back"))
# The Support button in the group.
SUPPORT = button("sp", Id)

# Buttons of a flow: pressed outside it, they are out of date.
FLOWS = (PROPOSE_FOR, SUPPORT_SIMILAR, PROPOSE_ANYWAY, CATEGORY, NO_PHOTO, ANONYMITY, MODERATE,
         MERGE_INTO, SELECT)
