"""What an announcement shows: when it runs, in the reader's words, and the preview."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.announcements import (
    Repeat,
    from_cron,
)
from bot.domain.models import Community
from bot.i18n import WEEKDAY_NAMES, Translator


def _when(cron: str | None, run_at: datetime | None, community: Community,
          _: Translator) -> str:
    if cron is None:
        if run_at is None:
            return _("now")
        return _("once, {when}").format(
            when=f"{run_at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}")
    schedule = from_cron(cron)
    at = f"{schedule.at:%H:%M}"
    if schedule.repeat is Repeat.DAILY:
        return _("every day at {time}").format(time=at)
    if schedule.repeat is Repeat.WEEKLY:
        assert schedule.weekday is not None
        return _("every {weekday} at {time}").format(weekday=_(WEEKDAY_NAMES[schedule.weekday]),
                                                     time=at)
    return _("on day {day} of every month at {time}").format(day=schedule.day, time=at)


def _preview_text(draft: dict[str, Any], community: Community, _: Translator) -> str:
    run_at = datetime.fromisoformat(draft["run_at"]) if draft.get("run_at") else None
    lines = [_("<b>Preview for {group}</b>").format(group=html.escape(community.title)), "",
             html.escape(draft["text"]) if draft["text"] else _("(a photo without text)"), "",
             _("When: {when}").format(when=_when(draft.get("cron"), run_at, community, _)),
             _("Pinned: {answer}").format(answer=_("yes") if draft["pin"] else _("no"))]
    if draft.get("mode") != "now":
        lines.append(_("In quiet hours: {answer}").format(
            answer=_("sent anyway") if draft["quiet"] else _("waits until they end")))
    if draft.get("photo"):
        lines.append(_("With a photo."))
    return "\n".join(lines)
