"""The buttons of round-table meetings, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, button

FOR = button("mc:g", Id)  # which group, in the calling flow
SEAT = button("ms", Id, Choice("take", "back"))
ATTENDED = button("ma", Id, Id)  # the organiser ticks who came
MINUTES = button("mw", Id)  # ... and writes the minutes
DECIDE = button("md", Id, Id)  # an agreed action (its index) becomes a decision
