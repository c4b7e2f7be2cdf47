"""A poll in preparation: the draft kept in the person's data while they answer, its
settings checked together, when it would open and close, and what stops it being
published. Shared by the creation steps (create.py) and the preview (preview.py)."""


from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from bot.context import YishiContext
from bot.domain.models import Community
from bot.domain.poll_drafts import PollSettings
from bot.domain.polls import (
    CIVIL_RULES,
    Scope,
    Weighting,
    missing_areas,
)
from bot.i18n import Translator
from handlers.polls.texts import _local
from storage import residents

QUESTION, OPTIONS, DEADLINE, PREVIEW, SCOPE, MATERIAL = range(20, 26)

DRAFT = "poll"
MISSING_SHOWN = 20  # units without an area listed in the preview
MATERIAL_TEXT_MAX = 3000  # the notice's background text, within one message

PREFILL = "poll_prefill"


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def _settings(draft: dict[str, Any]) -> PollSettings | None:
    """The draft's settings, checked together (None if they no longer go together: a
    draft from an older version)."""
    try:
        return PollSettings(
            options=len(draft["options"]), yes_no=bool(draft.get("yes_no")),
            audience=draft["audience"], weighting=draft["weighting"], rule=draft["rule"],
            multiple=draft["multiple"], max_choices=draft["max_choices"], live=draft["live"],
            secret=draft.get("secret", False), method=draft.get("method", "choice"))
    except (KeyError, ValidationError):
        return None


def _notice_choices(context: YishiContext) -> list[int]:
    """Notice periods the preview offers, in days (0: voting opens at once)."""
    first = context.services.settings.polls.notice_days
    return [0, first, *(days for days in (7, 30) if days != first)]


def _when(draft: dict[str, Any], now: datetime) -> tuple[datetime | None, datetime]:
    """When voting opens (None: at once) and closes. With a notice period, the chosen
    deadline is how long voting runs once it opens."""
    deadline = datetime.fromisoformat(draft["deadline"])
    days = draft.get("notice_days", 0)
    if not days:
        return None, deadline
    opens = now + timedelta(days=days)
    return opens, opens + (deadline - now)


def _timing(draft: dict[str, Any], community: Community, now: datetime,
            _: Translator) -> list[str]:
    opens, closes = _when(draft, now)
    if opens is None:
        return [_("Deadline: {when}").format(when=_local(closes, community))]
    material = draft.get("material") or {}
    kinds = [_("text") if material.get("text") else "",
             _("a photo") if material.get("photo") else "",
             _("a document") if material.get("document") else ""]
    return [_("Notice: announced now, {days} days before voting (公示)").format(
                days=draft["notice_days"]),
            _("Voting opens {opens} and closes {closes}").format(
                opens=_local(opens, community), closes=_local(closes, community)),
            _("Background: {what}").format(what=_.join(k for k in kinds if k)
                                           or _("none yet"))]


async def _unpublishable(context: YishiContext, draft: dict[str, Any],
                         _: Translator) -> list[str]:
    """Why the draft cannot be published yet: a Civil Code poll needs the area of every
    unit in scope (the total area is the sum of all of them), and at least one unit."""
    if draft.get("rule") not in {r.value for r in CIVIL_RULES}:
        return []
    async with context.services.db.transaction() as conn:
        roster = await residents.households(conn, draft["community"])
    scope = Scope(building=draft.get("scope_building"), staircase=draft.get("scope_staircase"))
    if not any(scope.covers(h) for h in roster):
        return [_("⚠️ A Civil Code poll counts the units on the building's register, and there "
                  "are none in its scope yet. Import the register first (/residents)."), ""]
    missing = missing_areas(roster, scope)
    if not missing:
        return []
    shown = missing[:MISSING_SHOWN]
    lines = [_("⚠️ This poll cannot be published while {count} units in its scope have no "
               "recorded area: the total area, which the quorum is counted against, would be "
               "wrong. Record each one, then press Publish again:").format(count=len(missing)),
             *(f"• {h.address.code}: /residents area {h.address.code} …" for h in shown)]
    if len(missing) > len(shown):
        lines.append(_("… and {count} more (see /residents).").format(
            count=len(missing) - len(shown)))
    return [*lines, ""]


async def _area_gaps(context: YishiContext, draft: dict[str, Any],
                     _: Translator) -> list[str]:
    """A poll weighed by floor area under a rule other than the Civil Code's may be
    published with units whose area is not recorded, but a ballot for one of them then
    weighs 0 m²: the preview says so, and which units."""
    if draft.get("weighting") != Weighting.AREA.value \
            or draft.get("rule") in {r.value for r in CIVIL_RULES}:
        return []
    async with context.services.db.transaction() as conn:
        roster = await residents.households(conn, draft["community"])
    scope = Scope(building=draft.get("scope_building"), staircase=draft.get("scope_staircase"))
    missing = [h.address.code for h in missing_areas(roster, scope)]
    if not missing:
        return []
    more = [_("and {count} more").format(count=len(missing) - MISSING_SHOWN)] \
        if len(missing) > MISSING_SHOWN else []
    return [_("⚠️ Units in scope with no recorded area weigh 0 m² in this poll ({count}): "
              "{units}. Record their area with /residents area if they should count."
              ).format(count=len(missing), units=_.join([*missing[:MISSING_SHOWN], *more])),
            ""]
