"""A topic's business actions: sent for moderation, posted to the group with its support
count kept up to date, support toggled, selected for a vote or a meeting, and everyone
who proposed or backed it told.

Other features reach topics only through this module."""

from __future__ import annotations

import html
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import YishiApp, YishiContext
from bot.domain.models import Community, Outgoing
from bot.domain.points import Action
from bot.domain.residents import ResidentStatus
from bot.domain.topics import (
    LISTED,
    Topic,
    TopicStatus,
    moves_into,
    reached_threshold,
)
from bot.i18n import N_, Translator, translator
from bot.points import award
from bot.services import Services
from handlers.common import (
    MEETING_PREFILL,
    audit_in,
    person_translator,
    private_link,
    schedule_spaced,
)
from handlers.moderators import Readers, copy_language, review_copies
from handlers.outgoing import edit_caption, edit_text, message, photo, to_people
from handlers.topics.texts import (
    STATUS_NAMES,
    _author_name,
    _card,
    _digest,
    _moderation_buttons,
    _support_button,
    _trim_caption,
)
from storage import Connection, communities, due_work, outbox, people, residents
from storage import topics as store

log = logging.getLogger(__name__)


ROUNDUP = "topic_roundup"
# Due work: the moderators are asked what came of a topic's meeting, this long after it.
MET = "topic_met"
AFTER_MEETING = timedelta(hours=2)
# Due work: a topic reached the group's support threshold; the moderators are asked now.
READY = "topic_ready"
POSTED = "topic.posted"
REVIEW_COPY = "topic.review_copy"


async def _load(topic_id: int, context: YishiContext) -> tuple[Topic | None, Community | None]:
    async with context.services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        community = await communities.by_id(conn, topic.community_id) if topic else None
    return topic, community


def _topic_id(data: str | None, position: int = 1) -> int | None:
    parts = (data or "").split(":")
    return int(parts[position]) if len(parts) > position and parts[position].isdigit() else None


async def review_in(conn: Connection, services: Services, community: Community,
                    readers: Readers, topic: Topic) -> list[Outgoing]:
    """The new topic's copies for the moderators, with its buttons, to queue in the
    transaction that stores it; each is noted once sent (:func:`review_copy_sent`)."""
    person = None if topic.anonymous or topic.author_id is None else \
        await people.get(conn, topic.author_id)
    author = person.name if person else None

    def render(_: Translator) -> tuple[str, InlineKeyboardMarkup]:
        head = _("<b>New topic</b> for {group}").format(group=html.escape(community.title))
        return head + "\n\n" + _card(topic, None, author, _), _moderation_buttons(topic, _)

    return await review_copies(
        conn, services, community, readers, f"topic:{topic.id}:review", render,
        remember={"what": REVIEW_COPY, "topic": topic.id},
        unreachable_note=N_("A new topic waits for a moderator. Moderators: start a private "
                            "chat with me to review it."), photo_id=topic.photo_file_id)


async def review_copy_sent(conn: Connection, remember: dict[str, Any], answer: Any,
                           now: datetime) -> None:
    """A moderator's copy is out: noted, so the decision brings it up to date."""
    await store.add_notice(conn, int(remember["topic"]),
                           [int(answer["chat"]["id"]), int(answer["message_id"])])


async def group_post(conn: Connection, community: Community, topic_id: int) -> Outgoing:
    """An approved topic's post in the group with its Support button, queued in the
    caller's transaction; its message id is recorded once it is sent (:func:`posted`)."""
    topic = await store.get(conn, topic_id)
    assert topic is not None
    person = None if topic.anonymous or topic.author_id is None else \
        await people.get(conn, topic.author_id)
    count = await store.supports(conn, topic_id)
    _ = translator(community.language)
    text = _card(topic, count, person.name if person else None, _)
    markup = _support_button(topic, count, _)
    remember = {"what": POSTED, "topic": topic.id, "digest": _digest(text, markup)}
    if topic.photo_file_id:
        return photo(f"topic:{topic.id}:post", community.chat_id, topic.photo_file_id,
                     _trim_caption(text), markup=markup, remember=remember)
    return message(f"topic:{topic.id}:post", community.chat_id, text, markup=markup,
                   remember=remember)


async def posted(conn: Connection, remember: dict[str, Any], answer: Any,
                 now: datetime) -> None:
    """The post is in the group: note where. Support given while it was on its way could
    not be shown on it: if it no longer shows the count, it is edited at once."""
    topic_id = int(remember["topic"])
    # Writing the topic's row waits for a support being recorded (it holds the row), so
    # the edit below counts it; a later support waits for this and its refresh finds the
    # post.
    await store.set_post(conn, topic_id, int(answer["chat"]["id"]), int(answer["message_id"]),
                         str(remember["digest"]))
    await outbox.queue(conn, await post_update(conn, topic_id, "posted"), now)


async def _select(update: Update, context: YishiContext, topic: Topic, community: Community,
                  status: TopicStatus, meeting_at: datetime | None = None) -> None:
    """The moderators chose a meeting (the topic moves now) or a vote (the moderator gets
    the poll ready; the topic moves when the poll is published, see :func:`put_to_vote`,
    so a poll dropped in its preview leaves nothing behind)."""
    assert update.effective_chat is not None
    if status is TopicStatus.SELECTED_VOTE:
        _ = await person_translator(update, context)
        await _offer_poll(update, context, topic, community)
        return
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        moved = await store.move(conn, topic.id, from_status=TopicStatus.OPEN,
                                 to_status=status, now=now, meeting_at=meeting_at)
        if moved and topic.author_id is not None:
            await award(conn, services.settings.points, community, user_id=topic.author_id,
                        action=Action.TOPIC_ADOPTED, ref=f"topic:{topic.id}", now=now)
        if moved and meeting_at is not None:
            await due_work.schedule(conn, kind=MET, key=str(topic.id),
                                    due_at=meeting_at + AFTER_MEETING, now=now,
                                    payload={"topic": topic.id})
        if moved:
            # Who chose it, the word to its author and backers and the post's new state,
            # with the move: a crash after it loses none of them.
            await audit_in(conn, context, community, update, f"topic.{status.value}",
                           topic=topic.id)
            local = meeting_at.astimezone(ZoneInfo(community.timezone)) if meeting_at else None
            await outbox.queue(conn, [
                *await told_everyone(conn, services, topic, N_(
                    "{ref} “{title}” will be discussed at the meeting on {when}."),
                    when=f"{local:%Y-%m-%d %H:%M}" if local else "?"),
                *await post_update(conn, topic.id, f"{status.value}:{secrets.token_hex(4)}")],
                now)
    _ = await person_translator(update, context)
    if not moved:
        await update.effective_chat.send_message(_("This button is out of date."))
        return
    services.outbox.kick()
    markup = None
    if meeting_at is not None:
        # The round-table meeting can be called for it, with this topic and time filled in.
        context.user_data[MEETING_PREFILL] = {
            "community": community.id, "title": topic.title,
            "agenda": [f"{topic.ref} {topic.title}"], "starts_at": meeting_at.isoformat()}
        markup = private_link(context, "meeting", community,
                              _("Call a round-table meeting for it"))
    await update.effective_chat.send_message(_("Done: {ref} is {status}.").format(
        ref=topic.ref, status=_(STATUS_NAMES[status])), reply_markup=markup)


async def put_to_vote(conn: Connection, services: Services, topic_id: int, *,
                      poll_ref: str, community: Community, closes: str,
                      now: datetime) -> list[Outgoing]:
    """A poll on the topic is published (in the poll's transaction): the topic moves to the
    vote, from the list or after its meeting; its author earns the adoption points; its
    author and backers are told where to vote. Nothing if it had moved on meanwhile."""
    topic = await store.get(conn, topic_id)
    if topic is None or not await store.move(
            conn, topic_id, from_status=moves_into(TopicStatus.SELECTED_VOTE),
            to_status=TopicStatus.SELECTED_VOTE, now=now):
        return []
    if topic.author_id is not None:
        await award(conn, services.settings.points, community, user_id=topic.author_id,
                    action=Action.TOPIC_ADOPTED, ref=f"topic:{topic.id}", now=now)
    backers = await store.supporters(conn, topic.id)
    return await to_people(
        conn, [u for u in (topic.author_id, *backers) if u is not None],
        f"topic:{topic.id}:vote:{poll_ref}", community.language,
        lambda _: _("{ref} “{title}” is put to a vote: {poll} in {group}, open until "
                    "{when}.").format(ref=topic.ref, title=html.escape(topic.title),
                                      poll=poll_ref, group=html.escape(community.title),
                                      when=closes))


async def vote_dropped(conn: Connection, topic_id: int, *, poll_ref: str,
                       community: Community, now: datetime) -> list[Outgoing]:
    """The topic's poll was cancelled (in the poll's transaction): the topic goes back on
    the list, and its author and backers are told."""
    topic = await store.get(conn, topic_id)
    if topic is None or not await store.move(conn, topic_id,
                                             from_status=TopicStatus.SELECTED_VOTE,
                                             to_status=TopicStatus.OPEN, now=now):
        return []
    backers = await store.supporters(conn, topic.id)
    return await to_people(
        conn, [u for u in (topic.author_id, *backers) if u is not None],
        f"topic:{topic.id}:dropped:{poll_ref}", community.language,
        lambda _: _("The vote {poll} on {ref} “{title}” was cancelled. The topic is back on "
                    "the list of open topics, where it can still be supported.").format(
            ref=topic.ref, title=html.escape(topic.title), poll=poll_ref))


async def discussed(conn: Connection, number: int, *, community: Community,
                    meeting_ref: str, link: str | None, now: datetime) -> list[Outgoing]:
    """A round-table meeting's minutes name the topic T-``number`` on their agenda (in the
    caller's transaction): the topic moves to "discussed" with the meeting and the link to
    the minutes, its post says so, and its author and backers are told. A topic already
    put to a vote keeps its place (its vote decides it); the moderators' card after a
    meeting still asks what came of it."""
    topic = await store.by_number(conn, community.id, number)
    if topic is None or topic.status not in LISTED:
        return []
    owed: list[Outgoing] = []
    if topic.status is not TopicStatus.SELECTED_VOTE:
        await store.move(conn, topic.id, from_status=topic.status,
                         to_status=TopicStatus.DISCUSSED, now=now,
                         discussed_at=meeting_ref, minutes_link=link)
        owed += await post_update(conn, topic.id, f"discussed:{meeting_ref}")
    backers = await store.supporters(conn, topic.id)
    return owed + await to_people(
        conn, [u for u in (topic.author_id, *backers) if u is not None],
        f"topic:{topic.id}:discussed:{meeting_ref}", community.language,
        lambda _: (_("{ref} “{title}” was discussed at the round-table meeting {meeting}; "
                     "the minutes: {link}") if link else
                   _("{ref} “{title}” was discussed at the round-table meeting {meeting}; "
                     "the minutes are in the group.")).format(
            ref=topic.ref, title=html.escape(topic.title), meeting=meeting_ref,
            link=link or ""))


async def _offer_poll(update: Update, context: YishiContext, topic: Topic,
                      community: Community) -> None:
    """The moderator who chose a vote gets the poll flow with the question filled in."""
    user = update.effective_user
    if user is None:
        return
    context.application.user_data[user.id]["poll_prefill"] = {
        "community": community.id, "topic": topic.id, "question": topic.title}
    _ = await person_translator(update, context)
    await update.effective_chat.send_message(
        _("Prepare the poll for {ref} now; the question is filled in.").format(ref=topic.ref),
        reply_markup=private_link(context, "poll", community, _("Prepare the poll")))


async def _toggle_support(update: Update, context: YishiContext, topic: Topic,
                          community: Community, *, only_add: bool = False) -> bool | None:
    """Support, or withdraw a support; answers the press. None if the person may not."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.services
    _ = await person_translator(update, context)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # The topic's row is held while the support is written: its post's recording
        # (posted) goes before or after, so one of the two shows the count.
        await store.get(conn, topic.id, lock=True)
        ties = await residents.of_person(conn, user.id, community.id)
        if not any(tie.status is ResidentStatus.VERIFIED for tie, _a in ties):
            verified = False
        else:
            verified = True
            added = await store.add_support(conn, topic.id, user.id, now)
            if not added and not only_add:
                await store.remove_support(conn, topic.id, user.id)
            if added:
                await award(conn, services.settings.points, community, user_id=user.id,
                            action=Action.TOPIC_SUPPORTED, ref=f"topic:{topic.id}", now=now)
            count = await store.supports(conn, topic.id)
            if added and reached_threshold(community, topic, count) \
                    and not await due_work.known(conn, kind=READY, key=str(topic.id)):
                # Once per topic, whoever takes it back and forth across the line.
                await due_work.schedule(conn, kind=READY, key=str(topic.id), due_at=now,
                                        now=now, payload={"topic": topic.id})
    if not verified:
        await query.answer(_("Only residents on the roster can support topics. Send /join to "
                             "me in private to join it."), show_alert=True)
        return None
    if added or only_add:
        await query.answer(_("You support {ref}. Supporters: {count}.").format(
            ref=topic.ref, count=count))
    else:
        await query.answer(_("You withdrew your support for {ref}. Supporters: {count}.")
                           .format(ref=topic.ref, count=count))
    schedule_post_refresh(context.application, topic.id)
    return True


def schedule_post_refresh(app: YishiApp, topic_id: int) -> None:
    """Edit the group post soon, but never more often than post_refresh_seconds: a burst
    of presses becomes one edit."""
    schedule_spaced(app, f"topic-post:{topic_id}",
                    app.bot_data.services.settings.topics.post_refresh_seconds,
                    _refresh_job, topic_id)


async def _refresh_job(context: YishiContext) -> None:
    assert context.job is not None
    await refresh_post(context.application, int(context.job.data))


def _post_view(topic: Topic, count: int, author: str | None,
               community: Community) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the topic's group post shows: the card, and the Support button while it is
    open or its status once it is not."""
    _ = translator(community.language)
    text = _card(topic, count, author, _)
    if topic.status is TopicStatus.OPEN:
        return text, _support_button(topic, count, _)
    return text + "\n" + _("Status: {status}").format(status=_(STATUS_NAMES[topic.status])), \
        None


async def post_update(conn: Connection, topic_id: int, why: str) -> list[Outgoing]:
    """The edit that brings the group post in line with the topic, queued in the caller's
    transaction (none if the post already shows it); ``why`` names the edit."""
    topic = await store.get(conn, topic_id)
    community = await communities.by_id(conn, topic.community_id) if topic else None
    if topic is None or community is None or topic.post_message_id is None \
            or topic.post_chat_id is None:
        return []
    person = None if topic.anonymous or topic.author_id is None else \
        await people.get(conn, topic.author_id)
    text, markup = _post_view(topic, await store.supports(conn, topic_id),
                              person.name if person else None, community)
    if not await store.swap_post_digest(conn, topic_id, _digest(text, markup)):
        return []
    key = f"topic:{topic.id}:post:{why}"
    if topic.photo_file_id:
        return [edit_caption(key, topic.post_chat_id, topic.post_message_id,
                             _trim_caption(text), markup=markup)]
    return [edit_text(key, topic.post_chat_id, topic.post_message_id, text, markup=markup)]


async def refresh_post(app: YishiApp, topic_id: int) -> None:
    """Bring the group post in line with the topic: count, state, and the button."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        count = await store.supports(conn, topic_id)
        community = await communities.by_id(conn, topic.community_id) if topic else None
    if topic is None or community is None or topic.post_message_id is None:
        return
    text, markup = _post_view(topic, count, await _author_name(services, topic), community)
    async with services.db.transaction() as conn:
        changed = await store.swap_post_digest(conn, topic_id, _digest(text, markup))
    if not changed:
        return  # the post already shows this; Telegram refuses an edit that changes nothing
    try:
        if topic.photo_file_id:
            await app.bot.edit_message_caption(chat_id=topic.post_chat_id,
                                               message_id=topic.post_message_id,
                                               caption=_trim_caption(text), reply_markup=markup)
        else:
            await app.bot.edit_message_text(text, chat_id=topic.post_chat_id,
                                            message_id=topic.post_message_id,
                                            reply_markup=markup)
    except BadRequest as exc:
        log.info("topic post not edited", extra={"topic": topic_id, "error": str(exc)})


async def told(conn: Connection, services: Services, topic: Topic,
               user_ids: list[int | None], msgid: str, **values: str) -> list[Outgoing]:
    """A private note to each of these people, in their language (those without a chat
    with the bot are skipped), to queue in the transaction of what it tells."""
    wanted = [u for u in dict.fromkeys(user_ids) if u is not None]
    return await to_people(
        conn, wanted, f"topic:{topic.id}:told:{secrets.token_hex(4)}",
        services.default_language,
        lambda _: _(msgid).format(ref=topic.ref, title=html.escape(topic.title),
                                  **{k: html.escape(v) for k, v in values.items()}))


async def told_everyone(conn: Connection, services: Services, topic: Topic, msgid: str,
                        **values: str) -> list[Outgoing]:
    """:func:`told` to the topic's author and everyone who supports it."""
    backers = await store.supporters(conn, topic.id)
    return await told(conn, services, topic, [topic.author_id, *backers], msgid, **values)


async def _close_moderation(context: YishiContext, topic_id: int, update: Update,
                            outcome_msgid: str) -> None:
    """Every moderator's copy shows what was decided, and by whom, without buttons."""
    async with context.services.db.transaction() as conn:
        topic = await store.get(conn, topic_id)
        community = await communities.by_id(conn, topic.community_id) if topic else None
    if topic is None or community is None:
        return
    copies = list(topic.notices)
    pressed = update.callback_query.message if update.callback_query else None
    if isinstance(pressed, Message) and [pressed.chat_id, pressed.message_id] not in copies:
        copies.append([pressed.chat_id, pressed.message_id])
    name = update.effective_user.full_name if update.effective_user else "?"
    author = await _author_name(context.services, topic)
    for chat_id, message_id in copies:
        _ = await copy_language(context, community, chat_id)
        text = (_("<b>New topic</b> for {group}").format(group=html.escape(community.title))
                + "\n\n" + _card(topic, None, author, _) + "\n\n"
                + _(outcome_msgid).format(name=html.escape(name)))
        try:
            await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except BadRequest:
            pass
