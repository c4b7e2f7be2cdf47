"""What report categories, common areas and statuses are called, in either language."""

from __future__ import annotations

from bot.domain.reports import ReportStatus
from bot.i18n import N_, Translator, translator

CATEGORY_NAMES = {
    "lift": N_("Lift"), "water": N_("Water"), "electricity": N_("Electricity"),
    "cleaning": N_("Cleaning"), "greening": N_("Greening"), "security": N_("Security"),
    "parking": N_("Parking"), "other": N_("Other"),
}
AREA_NAMES = {
    "lobby": N_("Lobby"), "lift": N_("Lift"), "stairwell": N_("Stairwell"),
    "garage": N_("Garage"), "garden": N_("Garden"), "gate": N_("Gate"), "roof": N_("Roof"),
}
STATUS_NAMES = {
    ReportStatus.NEW: N_("new"), ReportStatus.ACKNOWLEDGED: N_("acknowledged"),
    ReportStatus.IN_PROGRESS: N_("being worked on"), ReportStatus.RESOLVED: N_("resolved"),
    ReportStatus.CLOSED: N_("closed"), ReportStatus.REJECTED: N_("rejected"),
    ReportStatus.DUPLICATE: N_("a duplicate"), ReportStatus.REOPENED: N_("reopened"),
}

def display_name(table: dict[str, str], key: str, _: Translator) -> str:
    return _(table[key]) if key in table else key


def category_name(key: str, _: Translator) -> str:
    return display_name(CATEGORY_NAMES, key, _)


def category_key(text: str, known: list[str]) -> str | None:
    """A category as someone typed it: its key (``lift``) or its name in either language."""
    wanted = text.strip().lower()
    for key in known:
        names = {key} | {translator(lang)(CATEGORY_NAMES[key]).lower()
                         for lang in ("en", "zh") if key in CATEGORY_NAMES}
        if wanted in names:
            return key
    return None
