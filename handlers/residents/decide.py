"""A moderator's answer to a join request: the request as they see it, Approve / Reject
(or, for an owner on the building's register, approve as that entry), and every copy of
the request brought up to date once someone decided."""


from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import YishiContext
from bot.domain.households import Relation
from bot.domain.models import Community, Outgoing, Role
from bot.domain.residents import ResidentStatus
from bot.i18n import N_, Translator, translator
from bot.services import Services
from handlers.common import (
    person_language,
    record_audit,
    refuse,
    user_role,
)
from handlers.moderators import Readers, copy_language, review_copies
from handlers.outgoing import to_people
from handlers.residents import callbacks
from handlers.residents.texts import format_area, relation_name
from storage import (
    Connection,
    audit,
    communities,
    outbox,
    people,
    residents,
    unit_owners,
    units,
)

# A moderator's copy of a join request, noted once sent.
REVIEW_COPY = "resident.review_copy"

CHOOSE_COMMUNITY, CHOOSE_UNIT, CHOOSE_RELATION, GIVE_AREA = range(4)

async def request_text(context: YishiContext, resident_id: int, _: Translator) -> str:
    async with context.services.db.transaction() as conn:
        return await request_text_in(conn, resident_id, _)


async def request_text_in(conn: Connection, resident_id: int, _: Translator) -> str:
    """The request as the moderators see it, read in the caller's transaction."""
    request = await residents.get(conn, resident_id)
    assert request is not None
    person = await people.get(conn, request.user_id)
    unit = await units.get(conn, request.unit_id)
    community = await communities.by_id(conn, request.community_id)
    assert person is not None and unit is not None and community is not None
    who = html.escape(person.name) + (f" (@{person.username})" if person.username else "")
    lines = [_("<b>Join request</b> for {group}").format(group=html.escape(community.title)),
             _("{who} asks to join as {relation} of {unit}.").format(
                 who=who, relation=relation_name(request.relation, _),
                 unit=unit.address.code)]
    if request.area_claimed is not None:
        lines.append(_("Floor area given: {area}").format(
            area=format_area(request.area_claimed)))
    return "\n".join(lines)


def decision_buttons(resident_id: int, _: Translator,
                     on_register: Sequence[unit_owners.Entry] = ()) -> InlineKeyboardMarkup:
    """Approve / Reject; for an owner whose unit lists owners not yet on Telegram, a way to
    approve them as that entry of the register instead of as a second owner."""
    rows = [[InlineKeyboardButton(_("Approve as {name} (on the register)").format(
        name=entry.owner.name[:40]), callback_data=callbacks.LINK.data(resident_id, entry.id))]
        for entry in on_register]
    rows.append([
        InlineKeyboardButton(_("Approve as a new owner") if on_register else _("Approve"),
                             callback_data=callbacks.DECIDE.data(resident_id, "ok")),
        InlineKeyboardButton(_("Reject"), callback_data=callbacks.DECIDE.data(resident_id, "no")),
    ])
    return InlineKeyboardMarkup(rows)


async def decision_markup(context: YishiContext, resident_id: int,
                          _: Translator) -> InlineKeyboardMarkup:
    async with context.services.db.transaction() as conn:
        return await _decision_markup_in(conn, resident_id, _)


async def _decision_markup_in(conn: Connection, resident_id: int,
                              _: Translator) -> InlineKeyboardMarkup:
    request = await residents.get(conn, resident_id)
    entries = await unit_owners.unlinked(conn, request.unit_id) \
        if request is not None and request.relation is Relation.OWNER else []
    return decision_buttons(resident_id, _, entries)


async def review_in(conn: Connection, services: Services, community: Community,
                    readers: Readers, resident_id: int) -> list[Outgoing]:
    """The request's copies for the moderators, with its decision buttons, to queue in the
    transaction that stores it; each is noted once sent (:func:`review_copy_sent`)."""
    # Each reader's language's text, read here in the transaction (render runs in it).
    shown: dict[str, tuple[str, InlineKeyboardMarkup]] = {}
    for language in {translator(community.language).language, *[
            translator(p.reads(services.default_language)).language
            for p in (await people.names(conn, readers.moderators)).values()]}:
        _ = translator(language)
        shown[language] = (await request_text_in(conn, resident_id, _),
                           await _decision_markup_in(conn, resident_id, _))
    # Asking again reuses the request's row: this asking's copies are new ones.
    request = await residents.get(conn, resident_id)
    assert request is not None
    await residents.set_notices(conn, resident_id, [])
    asked = int(request.requested_at.timestamp())
    return await review_copies(
        conn, services, community, readers, f"resident:{resident_id}:review:{asked}",
        lambda _: shown[_.language], remember={"what": REVIEW_COPY, "resident": resident_id},
        unreachable_note=N_("A resident asked to join the roster. Moderators: start a private "
                            "chat with me and send /residents to review it."))


async def review_copy_sent(conn: Connection, remember: dict[str, Any], answer: Any,
                           now: datetime) -> None:
    """A moderator's copy is out: noted, so the decision brings it up to date."""
    await residents.add_notice(conn, int(remember["resident"]),
                               [int(answer["chat"]["id"]), int(answer["message_id"])])


async def decide(update: Update, context: YishiContext) -> None:
    """Approve / Reject on a join request, checked against who may decide it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    decided_by_button = callbacks.DECIDE.parse(query.data)
    linked = callbacks.LINK.parse(query.data)
    services = context.services
    request, community, entry = None, None, None
    pressed = decided_by_button or linked
    if pressed is not None:
        async with services.db.transaction() as conn:
            request = await residents.get(conn, pressed[0])
            community = await communities.by_id(conn, request.community_id) if request else None
            entry = await unit_owners.get(conn, linked[1]) if linked else None
    if request is None or community is None or (linked is not None and (
            entry is None or entry.unit_id != request.unit_id or entry.owner.user_id is not None
            or request.relation is not Relation.OWNER)):
        await refuse(update, context, N_("This button is out of date."))
        return
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return
    approve = linked is not None or (decided_by_button is not None
                                     and decided_by_button[1] == "ok")
    now = services.clock.now()
    async with services.db.transaction() as conn:
        decided = await residents.decide(
            conn, request.id,
            ResidentStatus.VERIFIED if approve else ResidentStatus.REJECTED, by=user.id,
            now=now)
        if decided and entry is not None:
            # The owner on the register is this person: every unit listed under that name.
            await unit_owners.link(conn, community.id, entry.owner.name, request.user_id)
            await audit.record(conn, community_id=community.id, actor_id=user.id,
                               action="register.link", at=now,
                               details={"resident": request.id, "entry": entry.id})
        if decided and approve and request.relation is Relation.OWNER \
                and request.area_claimed is not None:
            # The register's area stands; a claimed one fills in only a missing area.
            unit = await units.get(conn, request.unit_id)
            if unit is not None and unit.area_m2 is None:
                await units.set_area(conn, request.unit_id, request.area_claimed)
        final = await residents.get(conn, request.id)
        decider = await people.get(conn, final.decided_by) if final and final.decided_by \
            else None
        if decided:
            await outbox.queue(conn, await _resident_told(conn, services, community, request,
                                                          approve), now)
    assert final is not None
    _ = translator(await person_language(context, user))
    decider_name = decider.name if decider else "?"
    if not decided:
        await query.answer(_("Another moderator already decided this request."),
                           show_alert=True)
        shown = query.message
        if isinstance(shown, Message) and [shown.chat_id, shown.message_id] \
                not in final.notices:
            # A copy we had lost track of: bring it up to date too.
            await _close_notices(context, final, decider_name,
                                 [[shown.chat_id, shown.message_id]])
        return
    await query.answer(_("Approved.") if approve else _("Rejected."))
    await record_audit(context, community, update,
                       "resident.approve" if approve else "resident.reject",
                       resident=request.id, user=request.user_id, unit=request.unit_id)
    services.outbox.kick()
    shown = query.message
    copies = list(final.notices)
    if isinstance(shown, Message) and [shown.chat_id, shown.message_id] not in copies:
        copies.append([shown.chat_id, shown.message_id])
    await _close_notices(context, final, decider_name, copies)


async def _resident_told(conn: Connection, services: Services, community: Community,
                         request: residents.Resident, approved: bool) -> list[Outgoing]:
    """The decision in the resident's own words, queued with it."""
    unit = await units.get(conn, request.unit_id)
    if unit is None:
        return []
    text = (N_("Welcome! You are now on the roster of {group} for {unit}.") if approved else
            N_("Your request to join {group} for {unit} was not approved. If you think this "
               "is a mistake, please talk to a moderator."))
    asked = int(request.requested_at.timestamp())
    return await to_people(
        conn, [request.user_id], f"resident:{request.id}:decided:{asked}",
        services.default_language,
        lambda _: _(text).format(group=html.escape(community.title), unit=unit.address.code))


async def _close_notices(context: YishiContext, request: residents.Resident, decider: str,
                         copies: list[list[int]]) -> None:
    """Each copy of the request shows the outcome and loses its buttons."""
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, request.community_id)
    assert community is not None
    for chat_id, message_id in copies:
        _ = await copy_language(context, community, chat_id)
        outcome = (_("✅ Approved by {name}") if request.status is ResidentStatus.VERIFIED
                   else _("❌ Rejected by {name}")).format(name=html.escape(decider))
        try:
            await context.bot.edit_message_text(
                await request_text(context, request.id, _) + "\n\n" + outcome,
                chat_id=chat_id, message_id=message_id)
        except BadRequest:
            pass  # already shows the outcome, or too old to edit
