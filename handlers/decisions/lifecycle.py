"""A decision's business actions, each one transaction that also queues what it owes the
world (bot/outbox.py): made by a poll, its reminders armed, a progress update posted to
the group and the followers.

Other features reach decisions only through this module."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from telegram.error import Forbidden

from bot.context import YishiApp, YishiContext
from bot.domain.decisions import (
    OPEN_DECISIONS,
    Decision,
    DecisionStatus,
)
from bot.domain.models import Community, Outgoing, Person, Role
from bot.i18n import N_, translator
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    user_role,
)
from handlers.decisions.texts import _card, _local, _view_buttons, setup_buttons
from storage import Connection, communities, due_work, memberships, outbox, people, polls, topics
from storage import decisions as store

STALE, DUE_SOON, OVERDUE, RATING = ("decision_stale", "decision_due_soon",
                                    "decision_overdue", "decision_rating")
RATING_POSTED = "decision.rating_posted"


UPDATE_POST = "decision_update"


TITLE_MAX, TEXT_MAX = 200, 800


async def _may_manage(context: YishiContext, decision: Decision, community: Community,
                      user_id: int, *, owner_too: bool) -> bool:
    if owner_too and decision.owner_id == user_id:
        return True
    return await user_role(context, community, user_id) is Role.MODERATOR


async def _tell_owner_assigned(context: YishiContext, decision: Decision,
                               community: Community, person: Person) -> None:
    if not person.started:
        return
    _ = translator(person.reads(context.services.default_language))
    try:
        await context.bot.send_message(person.user_id, _(
            "You are now the owner of {ref} “{title}” in {group}. Post progress with /progress "
            "{ref}; I will remind you if it goes quiet.").format(
            ref=decision.ref, title=html.escape(decision.title),
            group=html.escape(community.title)))
    except Forbidden:
        pass


async def _load(context: YishiContext | YishiApp,
                data: str | None) -> tuple[Decision | None, Community | None]:
    """The decision a button's data (``xx:<id>:…``) names, with its community."""
    parts = (data or "").split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    return await _get(context, int(parts[1]))


async def _get(context: YishiContext | YishiApp,
               decision_id: int) -> tuple[Decision | None, Community | None]:
    services = context.services if isinstance(context, YishiContext) else context.bot_data.services
    async with services.db.transaction() as conn:
        decision = await store.get(conn, decision_id)
        community = await communities.by_id(conn, decision.community_id) if decision else None
    return decision, community


def announced(decision: Decision, community: Community, owner: Person | None) -> Outgoing:
    """The group's word of a decision a moderator wrote down (queued in its transaction):
    what, who owns it, by when, and a Follow button."""
    _ = translator(community.language)
    text = "\n".join([
        _("<b>New decision</b>: {ref} “{title}”").format(ref=decision.ref,
                                                         title=html.escape(decision.title)),
        _("Owner: {name}").format(name=html.escape(owner.name) if owner else _("nobody yet")),
        _("Due: {date}").format(date=_local(decision.due_at, community)
                                if decision.due_at else _("not set")),
        _("Press Follow to hear of its progress; /decision {ref} shows it whole.").format(
            ref=decision.ref)])
    return outgoing.message(f"decision:{decision.id}:announced", community.chat_id, text,
                            markup=_view_buttons(decision, _))


async def from_poll(conn: Connection, services: Services, decision: Decision,
                    community: Community, admins: list[int]) -> list[Outgoing]:
    """A closing poll made this decision (in the close's transaction): arm its reminders,
    and return the word to the moderators (``admins``: the group's Telegram admins) asking
    for an owner and a due date."""
    await _arm_reminders(conn, services, decision.id)
    granted = await memberships.with_role(conn, community.id, Role.MODERATOR)
    return await outgoing.to_people(
        conn, [*admins, *granted], f"decision:{decision.id}:from-poll",
        services.default_language, lambda _: _(
            "The vote made a decision in {group}: {ref} “{title}”. Give it an owner and a "
            "due date with the buttons, or: /decision {ref} owner @name and /decision {ref} "
            "due next friday (or any date).")
        .format(group=html.escape(community.title), ref=decision.ref,
                title=html.escape(decision.title)),
        buttons=lambda _: setup_buttons(decision, _))


async def _queue_update(conn: Connection, services: Services, decision_id: int, *,
                        by_moderator: bool, update_id: int | None = None) -> None:
    """Queue the latest update (or ``update_id``) for the group and the followers, in the
    transaction that recorded it; in the group's quiet hours it waits for the morning,
    unless a moderator posted it by hand."""
    decision = await store.get(conn, decision_id)
    community = await communities.by_id(conn, decision.community_id) if decision else None
    if decision is None or community is None or not community.active:
        return
    timeline = await store.timeline(conn, decision.id)
    event = timeline[-1] if update_id is None else \
        next((e for e in timeline if e.id == update_id), None)
    if event is None:
        return
    now = services.clock.now()
    not_before = None if by_moderator else community.quiet_until(now)
    watchers = set(await store.followers(conn, decision.id))
    if decision.topic_id is not None:
        watchers |= set(await topics.supporters(conn, decision.topic_id))
    if decision.poll_id is not None:
        watchers |= await polls.voters(conn, decision.poll_id)
    _ = translator(community.language)
    text = _card(decision, community, event, _)
    follow = _view_buttons(decision, _)
    key = f"decision:{decision.id}:update:{event.id}"
    owed: list[Outgoing] = []
    if len(event.photos) > 1:
        owed.append(Outgoing(key=f"{key}:group", chat_id=community.chat_id,
                             method="sendMediaGroup", not_before=not_before, params={
            "chat_id": community.chat_id, "media": [
                {"type": "photo", "media": file_id, "parse_mode": "HTML",
                 **({"caption": text[:1024]} if i == 0 else {})}
                for i, file_id in enumerate(event.photos)]}))
    elif event.photos:
        owed.append(outgoing.photo(f"{key}:group", community.chat_id, event.photos[0], text,
                                   markup=follow, not_before=not_before))
    else:
        owed.append(outgoing.message(f"{key}:group", community.chat_id, text, markup=follow,
                                     not_before=not_before))
    owed += await outgoing.to_people(
        conn, watchers - {event.actor_id or 0}, key, services.default_language,
        lambda reader: reader(N_("News on a decision you follow in {group}:")).format(
            group=html.escape(community.title)) + "\n\n"
        + _card(decision, community, event, reader), not_before=not_before)
    await outbox.queue(conn, owed, now)


async def _arm_reminders(conn: Connection, services: Services, decision_id: int) -> None:
    """The decision's reminders, in the transaction that changed it."""
    settings = services.settings.decisions
    decision = await store.get(conn, decision_id)
    if decision is None:
        return
    key, payload = str(decision.id), {"decision": decision.id}
    now = services.clock.now()

    async def arm(kind: str, due_at: datetime) -> None:
        await due_work.schedule(conn, kind=kind, key=key, due_at=due_at, now=now,
                                payload=payload)

    if decision.status in OPEN_DECISIONS:
        await arm(STALE, now + timedelta(days=settings.update_interval_days))
        if decision.due_at is not None:
            await arm(DUE_SOON, max(now, decision.due_at
                                    - timedelta(days=settings.due_reminder_days)))
            await arm(OVERDUE, decision.due_at)
    elif decision.status is DecisionStatus.DONE and decision.done_at is not None:
        await arm(RATING, decision.done_at + timedelta(days=settings.rating_after_days))


async def write_down(conn: Connection, services: Services, community: Community, *,
                     title: str, owner_id: int | None, due_at: datetime | None,
                     actor_id: int | None, now: datetime) -> Decision:
    """A decision written down by another feature (a meeting's agreed action): created,
    its reminders armed and announced in the group, in the caller's transaction."""
    decision = await store.create(conn, community_id=community.id, title=title[:TITLE_MAX],
                                  now=now, owner_id=owner_id, due_at=due_at,
                                  actor_id=actor_id)
    owner = await people.get(conn, owner_id) if owner_id else None
    await _arm_reminders(conn, services, decision.id)
    await outbox.queue(conn, [announced(decision, community, owner)], now)
    if owner is not None and owner.started:
        _ = translator(owner.reads(services.default_language))
        await outbox.queue(conn, [outgoing.message(
            f"decision:{decision.id}:owner", owner.user_id, _(
                "You are now the owner of {ref} “{title}” in {group}. Post progress with "
                "/progress {ref}; I will remind you if it goes quiet.").format(
                ref=decision.ref, title=html.escape(decision.title),
                group=html.escape(community.title)))], now)
    return decision
