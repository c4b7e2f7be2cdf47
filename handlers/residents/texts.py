"""Words and small renderings the residents' handlers share."""

from __future__ import annotations

from bot.domain.households import Relation
from bot.i18n import N_, Translator

RELATION_NAMES = {
    Relation.OWNER: N_("owner"),
    Relation.TENANT: N_("tenant"),
    Relation.FAMILY: N_("family member"),
}

# What people type in a CSV file or a command, in either language.
RELATION_WORDS = {
    "owner": Relation.OWNER, "业主": Relation.OWNER,
    "tenant": Relation.TENANT, "租户": Relation.TENANT, "租客": Relation.TENANT,
    "family": Relation.FAMILY, "家属": Relation.FAMILY, "家庭成员": Relation.FAMILY,
}


def relation_name(relation: Relation, _: Translator) -> str:
    return _(RELATION_NAMES[relation])


def parse_area(text: str) -> float | None:
    """A floor area in m², as people type it: 89.5, 89,5, 89.5㎡, 89.5 m2. None if not one."""
    cleaned = text.strip().lower()
    for suffix in ("平方米", "平米", "㎡", "m²", "m2", "sqm"):
        cleaned = cleaned.removesuffix(suffix).strip()
    cleaned = cleaned.replace(",", ".")
    try:
        area = float(cleaned)
    except ValueError:
        return None
    if not 5 <= area <= 2000 or area != area:
        return None
    return round(area, 2)


def format_area(area: float | None) -> str:
    if area is None:
        return "?"
    return f"{area:g} m²"
