"""Residents: joining the building's roster (/join, checked by a moderator) and the roster
itself (/residents, /verify, CSV import and export of units, people and areas)."""

from __future__ import annotations

from bot.context import YishiApp
from handlers.residents import join, roster


def register(app: YishiApp) -> None:
    join.register(app)
    roster.register(app)
