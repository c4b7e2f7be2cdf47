"""Reading what the bot stored, for assertions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain.models import AuditEntry, Community
from storage import audit, communities, memberships


async def community(bot: Any, chat_id: int) -> Community | None:
    async with bot.services.db.transaction() as conn:
        return await communities.by_chat(conn, chat_id)


async def audit_log(bot: Any, community_id: int) -> list[AuditEntry]:
    async with bot.services.db.transaction() as conn:
        return await audit.recent(conn, community_id, limit=100)


async def role(bot: Any, community_id: int, user_id: int) -> str | None:
    async with bot.services.db.transaction() as conn:
        membership = await memberships.get(conn, community_id, user_id)
    return membership.role.value if membership else None


async def eventually(check: Any, timeout: float = 5.0) -> Any:
    """Wait until the async ``check()`` returns something truthy (for silent effects)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("the expected effect never happened")
        await asyncio.sleep(0.02)


async def group_with_bot(bot: Any, api: Any, tg: Any, title: str = "Building 1",
                         owner_language: str = "zh-hans") -> tuple[Any, Any, Community]:
    """A group whose creator adds the bot; returns the group, its owner and its community."""
    owner = tg.person("Owner", language_code=owner_language)
    group = tg.group(title)
    mark = api.mark()
    await tg.add_bot(group, owner)
    await api.wait_for("sendMessage", after=mark)
    stored = await community(bot, group.id)
    assert stored is not None
    return group, owner, stored


async def introduce(bot: Any, tg: Any, group: Any, *persons: Any) -> None:
    """Each person says hello in the group; returns once the bot has noted them all."""
    from storage import people

    for person in persons:
        await tg.say(group, person, "hello")

    async def all_known() -> bool:
        async with bot.services.db.transaction() as conn:
            return all([await people.get(conn, p.id) is not None for p in persons])

    await eventually(all_known)


async def back_after_outage(bot: Any, clock: Any, down: Any, *, minutes: int = 30) -> None:
    """The bot is killed while Telegram fails as ``down`` says; Telegram answers again, the
    bot starts, and ``minutes`` later (past the outbox's wait before trying again) its
    scheduler and outbox have run."""
    await bot.crash()
    down.times = 0
    await bot.start()
    clock.advance(timedelta(minutes=minutes))
    await bot.tick()
    await bot.settled()
