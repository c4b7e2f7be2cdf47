"""Who may do what."""

from __future__ import annotations

from bot.domain.models import Role


def effective_role(granted: Role | None, *, is_chat_admin: bool) -> Role:
    """A chat's Telegram administrators are moderators whatever was granted to them."""
    if is_chat_admin:
        return Role.MODERATOR
    return granted or Role.RESIDENT


def is_moderator(role: Role) -> bool:
    return role is Role.MODERATOR


def parse_role(text: str) -> Role | None:
    """Accept the role's name as typed in /role, in either language's usual spelling."""
    aliases = {
        "moderator": Role.MODERATOR, "mod": Role.MODERATOR, "管理员": Role.MODERATOR,
        "handler": Role.HANDLER, "处理人": Role.HANDLER,
        "building_lead": Role.BUILDING_LEAD, "lead": Role.BUILDING_LEAD,
        "楼栋长": Role.BUILDING_LEAD,
        "resident": Role.RESIDENT, "居民": Role.RESIDENT,
    }
    return aliases.get(text.strip().lower())
