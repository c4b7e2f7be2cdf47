"""Decisions posted for objection (公示) before they take effect.

``/decision D-1 notice [days]`` (moderators) posts the decision to the group, pinned, with
"I object", which opens a private chat: a resident gives a reason (one objection each;
another replaces it). The post shows the count and the reasons, never who gave them. When
the period ends the moderators get the objections and confirm the decision, amend its
wording or withdraw it; the group is told which and why."""

from __future__ import annotations

import html
import secrets
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.buttons import Choice, Id, button
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.decisions import OPEN_DECISIONS, Decision, DecisionStatus
from bot.domain.models import Community, DueWork, Role
from bot.domain.typed import visible
from bot.i18n import N_, Translator, translator
from bot.scheduler import Done, Outcome
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    flow_reply,
    is_group_member,
    person_translator,
    refuse,
    typed_within,
    user_role,
)
from handlers.decisions.texts import _local
from handlers.moderators import moderator_ids
from storage import Connection, communities, due_work, outbox
from storage import decision_notices as notices
from storage import decisions as store

OUTCOME = button("do", Id, Choice("confirm", "amend", "withdraw"))
LINK = "object"  # /start object_<decision>
END = "decision_objection_end"  # due work: the period is over
POSTED = "decision_notice_post"
REASON, WORDING = range(120, 122)
DRAFT = "objection"
REASON_MAX = 300
REASONS_SHOWN = 20
TITLE_MAX = 300


def _text(decision: Decision, notice: notices.Notice, reasons: list[str],
          community: Community, _: Translator) -> str:
    lines = [_("📢 <b>Notice · {ref}</b> {title}").format(
                 ref=decision.ref, title=html.escape(decision.title)),
             _("Open to objections until {until}. To object, press the button and give your "
               "reason in private; reasons are shown here without names.").format(
                 until=_local(notice.until, community)),
             _("Objections so far: {count}").format(count=len(reasons))]
    lines += [f"• {html.escape(r)}" for r in reasons[:REASONS_SHOWN]]
    if len(reasons) > REASONS_SHOWN:
        lines.append(_("… and {count} more.").format(count=len(reasons) - REASONS_SHOWN))
    if notice.outcome is not None:
        lines.append("<i>" + _(_OUTCOMES[notice.outcome]) + "</i>")
    return "\n".join(lines)


_OUTCOMES = {"confirmed": N_("The moderators confirmed it: it takes effect."),
             "amended": N_("The moderators amended it after the objections."),
             "withdrawn": N_("The moderators withdrew it."),
             "ended": N_("The period has ended; the moderators will confirm, amend or "
                         "withdraw it.")}


def _button(services: Services, decision: Decision, _: Translator) -> InlineKeyboardMarkup:
    link = DeepLink(action=LINK, community_id=decision.id)  # the number: the decision's id
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("I object"), url=link.url(services.bot_username))]])


async def _post(conn: Connection, services: Services, decision_id: int, now: datetime
                ) -> tuple[str, InlineKeyboardMarkup | None, Community] | None:
    decision = await store.get(conn, decision_id)
    notice = await notices.get(conn, decision_id)
    community = await communities.by_id(conn, decision.community_id) if decision else None
    if decision is None or notice is None or community is None:
        return None
    _ = translator(community.language)
    if notice.outcome is None and now >= notice.until:
        notice = notice.model_copy(update={"outcome": "ended"})
    text = _text(decision, notice, await notices.reasons(conn, decision_id), community, _)
    return text, _button(services, decision, _) if notice.open(now) else None, community


async def refresh(conn: Connection, services: Services, decision_id: int,
                  now: datetime) -> None:
    """The post shows the objections and the outcome as they are now."""
    notice = await notices.get(conn, decision_id, lock=True)
    shown = await _post(conn, services, decision_id, now)
    if notice is None or shown is None or notice.post_message_id is None \
            or notice.post_chat_id is None:
        return
    text, markup, _community = shown
    shows = outgoing.shows(text, markup)
    if await notices.showing(conn, decision_id, shows):
        await outbox.queue(conn, [outgoing.edit_text(
            f"decision:{decision_id}:notice:{shows}:{secrets.token_hex(8)}",
            notice.post_chat_id, notice.post_message_id, text, markup=markup)], now)


async def post_for_objection(context: YishiContext, decision: Decision, community: Community,
                             rest: list[str], _: Translator) -> str:
    """``/decision D-1 notice [days]``; the answer to show."""
    services = context.services
    days = int(rest[0]) if rest and rest[0].isascii() and rest[0].isdigit() \
        and 1 <= int(rest[0]) <= 60 else (community.objection_days
                                          or services.settings.decisions.objection_days)
    if decision.status not in OPEN_DECISIONS:
        return _("{ref} is closed; only an open decision can be posted for objection.").format(
            ref=decision.ref)
    now = services.clock.now()
    until = now + timedelta(days=days)
    async with services.db.transaction() as conn:
        if not await notices.start(conn, decision.id, until, now):
            return _("{ref} was posted for objection before.").format(ref=decision.ref)
        shown = await _post(conn, services, decision.id, now)
        assert shown is not None
        text, markup, _c = shown
        await outbox.queue(conn, [outgoing.message(
            f"decision:{decision.id}:notice", community.chat_id, text, markup=markup,
            remember={"what": POSTED, "decision": decision.id,
                      "shows": outgoing.shows(text, markup)})], now)
        await due_work.schedule(conn, kind=END, key=str(decision.id), due_at=until, now=now,
                                payload={"decision": decision.id})
    services.outbox.kick()
    return _("{ref} is posted for objection until {until}.").format(
        ref=decision.ref, until=_local(until, community))


async def posted(services: Services, conn: Connection, remember: dict[str, Any],
                 answer: Any, now: datetime) -> None:
    """The post is in the group: note where, and pin it for the period. An objection made
    while it was on its way could not be shown on it: if it no longer shows the state, it
    is edited at once (registered with the services bound)."""
    decision_id = int(remember["decision"])
    chat_id, message_id = int(answer["chat"]["id"]), int(answer["message_id"])
    await notices.posted(conn, decision_id, chat_id, message_id, str(remember["shows"]))
    await outbox.queue(conn, [outgoing.pin(f"decision:{decision_id}:notice:pin", chat_id,
                                           message_id)], now)
    await refresh(conn, services, decision_id, now)


# --- objecting, in private ------------------------------------------------------------


async def object_command(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("To object to a decision posted for objection, press “I "
                               "object” under its post in the group."))
    return ConversationHandler.END


async def object_from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    link = DeepLink.parse(" ".join(context.args or []))
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        decision = await store.get(conn, link.community_id) if link else None
        notice = await notices.get(conn, decision.id) if decision else None
        community = await communities.by_id(conn, decision.community_id) if decision else None
    if decision is None or notice is None or community is None or not notice.open(now):
        await flow_reply(update, _("That decision no longer takes objections."))
        return ConversationHandler.END
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can object to its decisions.")
                         .format(group=html.escape(community.title)))
        return ConversationHandler.END
    context.user_data[DRAFT] = decision.id
    await flow_reply(update, _("Why do you object to {ref} “{title}”? Your reason is shown in "
                               "the group without your name. /cancel to stop.").format(
        ref=decision.ref, title=html.escape(decision.title)))
    return REASON


async def reason_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await person_translator(update, context)
    reason = " ".join(visible(message.text or "").split())
    if not reason or len(reason) > REASON_MAX:
        await message.reply_text(_("Please keep it between 1 and {limit} characters; yours "
                                   "has {length}.").format(limit=REASON_MAX,
                                                           length=len(reason)))
        return REASON
    services = context.services
    now = services.clock.now()
    decision_id = context.user_data.pop(DRAFT, 0)
    async with services.db.transaction() as conn:
        notice = await notices.get(conn, decision_id)
        if notice is None or not notice.open(now):
            new = None
        else:
            new = await notices.object_to(conn, decision_id, user.id, reason, now)
            await refresh(conn, services, decision_id, now)
    if new is None:
        await message.reply_text(_("That decision no longer takes objections."))
        return ConversationHandler.END
    services.outbox.kick()
    await message.reply_text(_("Your objection is recorded; the group's post shows its "
                               "reason, without your name.") if new else
                             _("Your reason is updated; you still count once."))
    return ConversationHandler.END


# --- the end of the period --------------------------------------------------------------


async def period_ended(app: YishiApp, work: DueWork) -> Outcome:
    """Due work: the moderators get the objections and three buttons; the post says the
    period is over."""
    services = app.bot_data.services
    now = services.clock.now()
    decision_id = int(work.payload["decision"])
    async with services.db.transaction() as conn:
        decision = await store.get(conn, decision_id)
        notice = await notices.get(conn, decision_id)
        community = await communities.by_id(conn, decision.community_id) if decision else None
    if decision is None or notice is None or community is None or notice.outcome is not None:
        return Done()
    moderators = await moderator_ids(app.bot, services, community)
    async with services.db.transaction() as conn:
        reasons = await notices.reasons(conn, decision_id)
        listed = "\n".join(f"• {html.escape(r)}" for r in reasons[:REASONS_SHOWN])
        await outbox.queue(conn, await outgoing.to_people(
            conn, moderators, f"decision:{decision_id}:notice:ended", services.default_language,
            lambda _: _("The objection period of {ref} “{title}” in {group} has ended with "
                        "{count} objection(s). Confirm it, amend its wording or withdraw it; "
                        "the group is told which and why.").format(
                ref=decision.ref, title=html.escape(decision.title),
                group=html.escape(community.title), count=len(reasons))
            + (f"\n{listed}" if listed else ""),
            buttons=lambda _: InlineKeyboardMarkup([[
                InlineKeyboardButton(_("Confirm"),
                                     callback_data=OUTCOME.data(decision_id, "confirm")),
                InlineKeyboardButton(_("Amend"),
                                     callback_data=OUTCOME.data(decision_id, "amend")),
                InlineKeyboardButton(_("Withdraw"),
                                     callback_data=OUTCOME.data(decision_id, "withdraw"))]])),
            now)
        await refresh(conn, services, decision_id, now)
    services.outbox.kick()
    return Done()


async def _checked(update: Update, context: YishiContext, decision_id: int
                   ) -> tuple[Decision, Community] | None:
    user = update.effective_user
    assert user is not None
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        decision = await store.get(conn, decision_id)
        notice = await notices.get(conn, decision_id)
        community = await communities.by_id(conn, decision.community_id) if decision else None
    if decision is None or notice is None or community is None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("This button is out of date."))
        return None
    if notice.outcome is not None:
        await refuse(update, context, N_("The moderators have decided this before."))
        return None
    if now < notice.until:
        await refuse(update, context, N_("The objection period has not ended yet."))
        return None
    return decision, community


async def outcome_pressed(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    values = OUTCOME.parse(query.data)
    assert values is not None
    checked = await _checked(update, context, values[0])
    if checked is None:
        return ConversationHandler.END
    decision, community = checked
    _ = await person_translator(update, context)
    if values[1] == "confirm":
        await _settle(update, context, decision, community, "confirmed", None)
        return ConversationHandler.END
    context.user_data[DRAFT] = {"decision": decision.id, "outcome": values[1]}
    ask = _("Type the new wording of {ref}.") if values[1] == "amend" else \
        _("Type why {ref} is withdrawn; the group reads it.")
    await flow_reply(update, ask.format(ref=decision.ref))
    return WORDING


async def wording_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = context.user_data.get(DRAFT)
    if not isinstance(draft, dict):
        return ConversationHandler.END
    _ = await person_translator(update, context)
    text = await typed_within(message, _, TITLE_MAX)
    if text is None:
        return WORDING
    checked = await _checked(update, context, draft["decision"])
    context.user_data.pop(DRAFT, None)
    if checked is None:
        return ConversationHandler.END
    decision, community = checked
    outcome = "amended" if draft["outcome"] == "amend" else "withdrawn"
    await _settle(update, context, decision, community, outcome, text)
    return ConversationHandler.END


async def _settle(update: Update, context: YishiContext, decision: Decision,
                  community: Community, outcome: str, text: str | None) -> None:
    """Record the moderators' word, change the decision to match, tell the group."""
    user = update.effective_user
    assert user is not None
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        if not await notices.settle(conn, decision.id, outcome, user.id, text, now):
            settled = False
        else:
            settled = True
            count = len(await notices.reasons(conn, decision.id))
            if outcome == "amended":
                assert text is not None
                await store.change(conn, decision.id, now=now, title=text)
            elif outcome == "withdrawn":
                await store.record(conn, decision, status=DecisionStatus.CANCELLED,
                                   percent=decision.progress, actor_id=user.id, now=now,
                                   reason=text)
            said = _told(outcome, decision, count, text, translator(community.language))
            await outbox.queue(conn, [outgoing.message(
                f"decision:{decision.id}:notice:{outcome}", community.chat_id, said)], now)
            await refresh(conn, services, decision.id, now)
    _ = await person_translator(update, context)
    if not settled:
        await refuse(update, context, N_("The moderators have decided this before."))
        return
    services.outbox.kick()
    await flow_reply(update, _("Done; the group is told."))


def _told(outcome: str, decision: Decision, count: int, text: str | None,
          _: Translator) -> str:
    """What the group is told of the moderators' word."""
    if outcome == "amended":
        return _("{ref} is amended after its objection period ({count} objection(s)); it "
                 "now reads: {title}").format(ref=decision.ref, count=count,
                                              title=html.escape(text or ""))
    if outcome == "withdrawn":
        return _("{ref} “{title}” is withdrawn after its objection period ({count} "
                 "objection(s)). Why: {reason}").format(
            ref=decision.ref, title=html.escape(decision.title), count=count,
            reason=html.escape(text or ""))
    return _("{ref} “{title}” takes effect: its objection period ended with {count} "
             "objection(s), and the moderators confirmed it.").format(
        ref=decision.ref, title=html.escape(decision.title), count=count)
