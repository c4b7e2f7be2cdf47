"""Awarding and revoking points: the one entry point later features call.

The rules (worth, daily cap, levels) are in bot/domain/points.py; this module applies
them to the ledger inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.config import PointsSettings
from bot.domain.models import Community
from bot.domain.points import Action, points_to_award
from storage import Connection, audit
from storage import points as ledger


def local_day_start(now: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def local_month_start(now: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=zone)


async def award(conn: Connection, settings: PointsSettings, community: Community, *,
                user_id: int, action: Action, ref: str, now: datetime) -> int:
    """Credit ``user_id`` for the act ``ref``; returns the points given (0 if capped or if
    this act was credited before). Call it in the transaction that records the act."""
    today = await ledger.earned(conn, community.id, user_id,
                                since=local_day_start(now, community.timezone),
                                action=action.value)
    points = points_to_award(settings.rules, settings.daily_caps, action, today)
    added = await ledger.add(conn, community_id=community.id, user_id=user_id,
                             action=action.value, points=points, ref=ref, now=now)
    return points if added else 0


async def award_many(conn: Connection, settings: PointsSettings, community: Community, *,
                     acts: Sequence[tuple[int, str]], action: Action, now: datetime) -> None:
    """:func:`award` for a batch of acts of one kind, (user, ref) each, in order: the daily
    cap counts the batch's own earlier acts."""
    if not acts:
        return
    today = await ledger.earned_by(conn, community.id, {user for user, _ref in acts},
                                   since=local_day_start(now, community.timezone),
                                   action=action.value)
    rows = []
    for user, ref in acts:
        points = points_to_award(settings.rules, settings.daily_caps, action,
                                 today.get(user, 0))
        today[user] = today.get(user, 0) + points
        rows.append((user, points, ref))
    await ledger.add_many(conn, community.id, action.value, rows, now)


async def revoke(conn: Connection, community: Community, *, user_id: int, action: Action,
                 ref: str, by: int | None, now: datetime) -> int:
    """Take back what an act earned, when a moderator reverts it; audited."""
    taken = await ledger.revoke(conn, community_id=community.id, user_id=user_id,
                                action=action.value, ref=ref, by=by, now=now)
    if taken:
        await audit.record(conn, community_id=community.id, actor_id=by, action="points.revoke",
                           at=now, details={"user": user_id, "act": action.value, "ref": ref,
                                            "points": taken})
    return taken
