"""The buttons of survey rounds, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Id, Index, button

RATE = button("sv", Id, Index(16), Index(6))  # round, subject, stars (0: skip)
NEXT = button("sx", Id, Index(16))  # no comment: the subject after this one
