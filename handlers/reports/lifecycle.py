"""A report's business actions, each one transaction that also queues what it owes the
world (bot/outbox.py): arming its time limits, routing it to its handlers, telling the
group, and changing its status (the reporter's news, the copies brought up to date, the
"is it fixed?" question, what the change arms).

Other features reach reports only through this module."""

from __future__ import annotations

import html
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden

from bot.config import Settings
from bot.context import YishiContext
from bot.domain.models import Community, Outgoing, Role
from bot.domain.reports import (
    OPEN_STATUSES,
    FollowUps,
    Limits,
    Report,
    ReportStatus,
    Timer,
    timers_when_moved,
)
from bot.i18n import Translator, translator
from bot.lengths import shortened
from bot.report_names import (
    CATEGORY_NAMES,
    STATUS_NAMES,
    display_name,
)
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    private_link,
    user_role,
)
from handlers.moderators import moderator_ids
from handlers.reports import callbacks
from handlers.reports.texts import (
    _card,
    _copy_language,
    _fixed_buttons,
    _handler_buttons,
)
from storage import Connection, communities, due_work, memberships, outbox, people
from storage import reports as store

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # a photo's caption


def _card_is_photo(photos: list[str]) -> bool:
    """A report with one photo is shown as that photo with the card as its caption; with
    several, they go as an album and the card as a message after it."""
    return len(photos) == 1


# A group notice held back by quiet hours by versions before the outbox.
GROUP_NOTICE = "report_group"
POSTED = "report.posted"


def limits_for(settings: Settings, category: str) -> Limits:
    """A category's time limits: its own from config, else the defaults."""
    reports = settings.reports
    hours = reports.limits.get(category, [reports.acknowledge_hours, reports.resolve_hours])
    return Limits(acknowledge=timedelta(hours=hours[0]), resolve=timedelta(hours=hours[1]))


async def _arm(conn: Connection, report_id: int, timers: list[tuple[Timer, datetime]],
               now: datetime) -> None:
    """Arm what the domain says a report's filing or move needs, in its transaction."""
    for timer, due in timers:
        await due_work.schedule(conn, kind=timer.value, key=str(report_id), due_at=due,
                                now=now, payload={"report": report_id})


def follow_ups(settings: Settings) -> FollowUps:
    reports = settings.reports
    return FollowUps(confirm=timedelta(days=reports.confirm_days),
                     still_fixed=timedelta(days=reports.still_fixed_days))


async def handler_ids(bot: Bot, services: Services, community: Community,
                      category: str) -> list[int]:
    """Who handles a category: its handlers (and those handling all), else the moderators."""
    async with services.db.transaction() as conn:
        handlers_ = await memberships.handlers_of(conn, community.id, category)
    return handlers_ or await moderator_ids(bot, services, community)


async def _send_card(bot: Bot, services: Services, chat_id: int, report: Report, _: Translator, *,
                     heading: str = "") -> list[int] | None:
    """The report, whole, sent to one chat: every photo (one album if there are several),
    the card with its buttons, the voice description as the voice message, the place as a
    map pin. Returns where the card is ([chat id, message id]), or None if that chat cannot
    be reached."""
    async with services.db.transaction() as conn:
        photos = await store.photos(conn, report.id)
        text = heading + await _card(conn, report, _)
    buttons = _handler_buttons(report, _)
    try:
        if len(photos) > 1:
            await bot.send_media_group(chat_id, [
                InputMediaPhoto(photo, caption=_("{ref}: {count} photos").format(
                    ref=report.ref, count=len(photos)) if n == 0 else None)
                for n, photo in enumerate(photos[:10])])
        if _card_is_photo(photos):
            sent = await bot.send_photo(chat_id, photos[0],
                                        caption=shortened(text, CAPTION_LIMIT),
                                        reply_markup=buttons)
        else:
            sent = await bot.send_message(chat_id, text, reply_markup=buttons)
        under = ReplyParameters(message_id=sent.message_id, allow_sending_without_reply=True)
        if report.voice_file_id:
            await bot.send_voice(chat_id, report.voice_file_id, reply_parameters=under)
        if report.latitude is not None and report.longitude is not None:
            pinned_only = report.where_text == f"{report.latitude:.5f}, {report.longitude:.5f}"
            if report.where_text.strip() and not pinned_only:
                await bot.send_venue(chat_id, report.latitude, report.longitude,
                                     title=report.where_text[:100], address=report.ref,
                                     reply_parameters=under)
            else:
                await bot.send_location(chat_id, report.latitude, report.longitude,
                                        reply_parameters=under)
    except (Forbidden, BadRequest):
        log.info("a report copy could not be delivered", extra={"report": report.id})
        return None
    return [sent.chat_id, sent.message_id]


async def _route(bot: Bot, services: Services, community: Community, report: Report) -> None:
    """A new report goes to the handlers' chat if one is linked, else to each handler of
    its category who has a private chat with the bot."""
    copies: list[list[int]] = []
    if community.handlers_chat_id is not None:
        copy = await _send_card(bot, services, community.handlers_chat_id, report,
                                translator(community.language))
        copies += [copy] if copy else []
    if not copies:
        recipients = await handler_ids(bot, services, community,
                                       report.category)
        async with services.db.transaction() as conn:
            reachable = [p for p in (await people.names(conn, recipients)).values() if p.started]
        for person in reachable:
            copy = await _send_card(bot, services, person.user_id, report,
                                    translator(person.reads(services.default_language)))
            copies += [copy] if copy else []
    async with services.db.transaction() as conn:
        await store.set_notices(conn, report.id, copies)
    if not copies:
        await _group_notice(services, community, report, "unreached")


async def _group_notice(services: Services, community: Community, report: Report,
                        what: str) -> None:
    """Tell the group of a new report, a resolution, or a report nobody could receive;
    in the group's quiet hours it waits for the morning."""
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        await services.scheduler.schedule(kind=GROUP_NOTICE, key=f"{report.id}:{what}",
                                          due_at=quiet_until,
                                          payload={"report": report.id, "what": what})
        return
    await _send_group_notice(services, community, report, what)


async def _send_group_notice(services: Services, community: Community, report: Report,
                             what: str) -> None:
    """The group's notice, queued under a key of its own: a notice handled again after a
    crash before the scheduler noted it is not posted twice."""
    _ = translator(community.language)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        owed: list[Outgoing] = []
        if what == "unreached":
            owed.append(outgoing.message(
                f"report:{report.id}:unreached", community.chat_id,
                _("A new report waits for a handler. Handlers and moderators: start a "
                  "private chat with me to receive reports."),
                markup=private_link(services, "group", community,
                                    _("Talk to me in private"))))
        elif what == "new" and report.status in OPEN_STATUSES:
            owed.append(outgoing.message(
                f"report:{report.id}:group", community.chat_id,
                await _card(conn, report, _, for_group=True),
                markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                    _("Me too"), callback_data=callbacks.ME_TOO.data(report.id))]]),
                remember={"what": POSTED, "report": report.id}))
        elif what == "resolved":
            owed.append(await _resolved_notice(conn, report, community,
                                               f"report:{report.id}:resolved", now))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()


async def posted(conn: Connection, remember: dict[str, Any], answer: Any,
                 now: datetime) -> None:
    """The report's card is in the group: note where (replies about it go under it)."""
    await store.set_post(conn, int(remember["report"]), int(answer["chat"]["id"]),
                         int(answer["message_id"]))


def _reopened_notice(report: Report, community: Community, key: str,
                     now: datetime) -> Outgoing:
    _ = translator(community.language)
    return outgoing.message(
        f"{key}:group:reopened", community.chat_id,
        _("{ref} ({category}) is reopened: it is not fixed yet.").format(
            ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _)),
        reply_to=report.post_message_id, not_before=community.quiet_until(now))


async def _resolved_notice(conn: Connection, report: Report, community: Community,
                           key: str, now: datetime) -> Outgoing:
    """The group hears a report is resolved (with the "after" photo, if there is one), as
    a reply to the report's post; in quiet hours it waits for the morning."""
    _ = translator(community.language)
    after = await store.photos(conn, report.id, after=True)
    events = await store.timeline(conn, report.id)
    notes = [e.plain_note for e in events
             if e.status is ReportStatus.RESOLVED and e.plain_note]
    text = _("{ref} ({category}) is resolved.").format(
        ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _))
    if notes:
        text += "\n" + _("Note: {note}").format(note=html.escape(notes[-1]))
    quiet_until = community.quiet_until(now)
    if after:
        return outgoing.photo(f"{key}:group", community.chat_id, after[-1], text,
                              reply_to=report.post_message_id, not_before=quiet_until)
    return outgoing.message(f"{key}:group", community.chat_id, text,
                            reply_to=report.post_message_id, not_before=quiet_until)


async def _load(context: YishiContext, data: str | None) -> tuple[Report | None,
                                                                 Community | None]:
    parts = (data or "").split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    async with context.services.db.transaction() as conn:
        report = await store.get(conn, int(parts[1]))
        community = await communities.by_id(conn, report.community_id) if report else None
    return report, community


async def _may_handle(context: YishiContext, community: Community, user_id: int,
                      category: str | None = None) -> bool:
    """Moderators handle every report; a handler those of their categories (all, if they
    were given none). Without a category: whether they handle any."""
    role = await user_role(context, community, user_id)
    if role is Role.MODERATOR:
        return True
    if role is not Role.HANDLER:
        return False
    if category is None:
        return True
    async with context.services.db.transaction() as conn:
        membership = await memberships.get(conn, community.id, user_id)
    return membership is not None and membership.handles(category)


async def change_status(services: Services, report: Report, community: Community,
                        target: ReportStatus, *, actor: int | None,
                        note: str | None = None, original: Report | None = None) -> bool:
    """Move the report and put it on the timeline; in the same transaction, queue what the
    move owes (the reporter's and followers' news, the handlers' copies and the group post
    brought up to date, the "is it fixed?" question and the group's word on a resolution)
    and arm what it starts (the wait for an answer, the check weeks later, a reopened
    report's new resolve limit)."""
    now = services.clock.now()
    settings = services.settings.reports
    async with services.db.transaction() as conn:
        if original is not None:
            event = await store.mark_duplicate(conn, report.id, original_id=original.id,
                                               from_status=report.status, actor_id=actor,
                                               now=now, note=note or "")
        else:
            event = await store.move(conn, report.id, from_status=report.status,
                                     to_status=target, actor_id=actor, now=now, note=note)
        updated = await store.get(conn, report.id)
        if event is None or updated is None:
            return False
        # The timeline entry names this change for good: its messages go once each.
        key = f"report:{report.id}:event:{event}"
        owed = [*await _news(conn, services, updated, note, key, original=original),
                *await _copy_edits(conn, services, updated, community, key)]
        if target is ReportStatus.RESOLVED:
            owed += await _fixed_question(conn, services, updated, key)
            if settings.post_to_group:
                owed.append(await _resolved_notice(conn, updated, community, key, now))
        if target is ReportStatus.REOPENED and settings.post_to_group \
                and report.status in (ReportStatus.RESOLVED, ReportStatus.CLOSED) \
                and updated.post_message_id is not None:
            # The group last read that it was resolved: it hears it is not.
            owed.append(_reopened_notice(updated, community, key, now))
        await _arm(conn, report.id, timers_when_moved(
            target, now, limits_for(services.settings, report.category),
            follow_ups(services.settings)), now)
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return True


async def _news(conn: Connection, services: Services, report: Report, note: str | None,
                key: str, *, original: Report | None = None) -> list[Outgoing]:
    """The reporter and the followers hear of the change, each in their language."""
    followers = await store.followers(conn, report.id)

    def news(_: Translator) -> str:
        text = _("{ref} ({category}) is now {status}.").format(
            ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _),
            status=_(STATUS_NAMES[report.status]))
        if note:
            text += "\n" + _("Note: {note}").format(note=html.escape(_(note)))
        if original is not None:
            text += "\n" + _("I will tell you how {ref} goes instead.").format(ref=original.ref)
        return text

    # Resolved with an "after" photo: they see it, not only the group.
    after = await store.photos(conn, report.id, after=True) \
        if report.status is ReportStatus.RESOLVED else []
    return await outgoing.to_people(
        conn, [u for u in [report.reporter_id, *followers] if u], f"{key}:news",
        services.default_language, news, photo_id=after[-1] if after else None)


async def _copy_edits(conn: Connection, services: Services, report: Report,
                      community: Community, key: str, *,
                      group_post: bool = True) -> list[Outgoing]:
    """Handlers' copies show the new status and the buttons that still make sense; the
    group post (unless only what handlers see changed) shows the status."""
    with_photo = _card_is_photo(await store.photos(conn, report.id))
    owed = []
    for chat_id, message_id in report.notices:
        _ = await _copy_language(conn, services, community, chat_id)
        text = await _card(conn, report, _)
        if with_photo:
            text = shortened(text, CAPTION_LIMIT)
        name = f"{key}:copy:{chat_id}:{message_id}"
        owed.append(outgoing.edit_caption(name, chat_id, message_id, text,
                                          markup=_handler_buttons(report, _)) if with_photo
                    else outgoing.edit_text(name, chat_id, message_id, text,
                                            markup=_handler_buttons(report, _)))
    if group_post and report.post_message_id is not None and report.post_chat_id is not None:
        _ = translator(community.language)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Me too"), callback_data=callbacks.ME_TOO.data(report.id))]]) \
            if report.status in OPEN_STATUSES else None
        owed.append(outgoing.edit_text(f"{key}:post", report.post_chat_id,
                                       report.post_message_id,
                                       await _card(conn, report, _, for_group=True),
                                       markup=markup))
    return owed


async def _refresh_copies(context: YishiContext, report: Report, community: Community, *,
                          group_post: bool = True) -> None:
    """Bring every copy up to date now (a follower joined, the report changed hands)."""
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        current = await store.get(conn, report.id) or report
        # Each refresh is an occasion of its own (the edits show the report as it is now;
        # one that changes nothing is refused by Telegram as "not modified" and dropped).
        shown = f"report:{report.id}:view:{now.isoformat()}:{secrets.token_hex(4)}"
        await outbox.queue(conn, await _copy_edits(conn, services, current, community, shown,
                                                   group_post=group_post), now)
    services.outbox.kick()


async def _fixed_question(conn: Connection, services: Services, report: Report,
                          key: str) -> list[Outgoing]:
    """The reporter is asked whether it is really fixed, and how it was handled."""
    if report.reporter_id is None:
        return []
    person = await people.get(conn, report.reporter_id)
    if person is None or not person.started:
        return []
    _ = translator(person.reads(services.default_language))
    return [outgoing.message(
        f"{key}:fixed?", person.user_id,
        _("Is {ref} really fixed? You can also rate how it was handled.").format(
            ref=report.ref), markup=_fixed_buttons(report, _))]


async def _tell_handlers(bot: Bot, services: Services, community: Community,
                         report: Report, msgid: str, *, about: str, photo: str | None = None,
                         **values: str) -> None:
    """The handler who has the report (else the category's handlers) hears in private,
    through the outbox. ``about`` names the occasion; with the report's timeline as it
    stands it names the messages for good, so a reminder run again after a crash, or a
    send retried, reaches nobody twice."""
    async with services.db.transaction() as conn:
        events = await store.timeline(conn, report.id)
    # Who last moved it forward (a note keeps the status, so it is not a move).
    took = [e.actor_id for before, e in zip(events, events[1:], strict=False)
            if e.status is not before.status and e.actor_id and e.status in (
                ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS, ReportStatus.RESOLVED)]
    recipients = [report.assignee_id] if report.assignee_id else took[-1:]
    recipients = recipients or await handler_ids(bot, services, community, report.category)
    key = f"report:{report.id}:tell:{about}:{len(events)}"
    now = services.clock.now()
    async with services.db.transaction() as conn:
        owed = await outgoing.to_people(
            conn, recipients, key, services.default_language, lambda _: _(msgid).format(
                ref=report.ref, category=display_name(CATEGORY_NAMES, report.category, _),
                status=_(STATUS_NAMES[report.status]), **values), photo_id=photo,
            # What they are reminded of, they can act on from the reminder itself.
            buttons=lambda _: _handler_buttons(report, _))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
