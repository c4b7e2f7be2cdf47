"""The buttons of volunteer activities, declared in the one registry (bot/buttons.py)."""

from __future__ import annotations

from bot.buttons import Choice, Id, Index, button
from bot.domain.helping import Kind

FOR = button("vc:g", Id)
LENGTH = button("vc:l", Index(17))  # half hours
KIND = button("vc:k", Choice(*(k.value for k in Kind)))
SEAT = button("vs", Id, Choice("take", "back"))
ATTENDED = button("va", Id, Id)
HELD = button("vd", Id)
