"""A ballot filled in privately: ranked choice, score, approval, dots, a meeting time and
consent (bot/domain/methods.py). A group post cannot hold a ranking, so the post carries
one "Vote" button; pressed, the form comes in the voter's private chat (or, if the bot may
not write to them yet, Telegram opens the chat with the bot on a link that brings it).

The form's buttons carry the ballot as filled in so far, so a restart loses nothing and
needs nothing stored; what is cast is checked whole by the domain and recorded at the vote
desk with the same rules as a press in the group (eligibility, one ballot per household,
the vote log, secret ballots). An objection to a consent poll must carry a reason: the
person types it, and it is posted in the poll's post without their name."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.methods import (
    CONSENT,
    IF_NEED_BE,
    NO,
    OBJECT,
    REASON_MAX,
    SCORE_MAX,
    YES,
    blank,
    in_progress,
    valid_ballot,
)
from bot.domain.models import Community
from bot.domain.polls import Audience, Method, Poll, PollStatus
from bot.i18n import N_, Translator
from handlers.common import flow_reply, person_translator, refuse, typed_within
from handlers.polls import callbacks
from handlers.polls.ballots import Press, VoteDesk, refusal_of
from handlers.polls.lifecycle import schedule_refresh
from handlers.polls.method_texts import HOW_TO
from handlers.polls.texts import REFUSALS
from storage import communities, people
from storage import polls as store

LINK = "ballot"  # /start ballot_<poll id>
REASON = 130  # the flow's state: typing an objection's reason
DRAFT = "objection"
TIME_MARKS = {YES: "✅", IF_NEED_BE: "🤷", NO: "❌"}
LABEL_MAX = 24  # an option's name on a button
UNCHANGED = "n"  # a form button that changes nothing (a label, a dot when none are left)


def _state(values: list[int]) -> str:
    return "s" + "".join(str(v) for v in values)


def _values(poll: Poll, state: str) -> list[int] | None:
    """The ballot a form's state holds; None if it could not be this poll's."""
    digits = state[1:]
    if not state.startswith("s") or (digits and not digits.isdigit()):
        return None
    values = [int(c) for c in digits]
    return values if in_progress(poll.method, values, options=len(poll.options)) else None


async def _poll(context: YishiContext, poll_id: int) -> tuple[Poll, Community] | None:
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None or poll.method is Method.CHOICE:
        return None
    return poll, community


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1] + "…"


def _form(poll: Poll, community: Community, values: list[int],
          _: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """The form's text and buttons for the ballot filled in so far."""
    data = poll.id
    lines = [_("<b>{ref} · {question}</b> ({group})").format(
        ref=poll.ref, question=html.escape(poll.question), group=html.escape(community.title)),
        "", _(HOW_TO[poll.method]).format(dots=poll.max_choices), ""]
    rows: list[list[InlineKeyboardButton]] = []
    options = poll.options
    if poll.method is Method.RANKED:
        lines += [f"{n}. {html.escape(options[i])}" for n, i in enumerate(values, start=1)] \
            or [_("Nothing ranked yet.")]
        rows += [[InlineKeyboardButton(f"{len(values) + 1}. {_label(option)}",
                                       callback_data=callbacks.FORM.data(
                                           data, _state([*values, i])))]
                 for i, option in enumerate(options) if i not in values]
        if values:
            rows.append([InlineKeyboardButton(_("Undo the last"), callback_data=callbacks.FORM
                                              .data(data, _state(values[:-1])))])
    elif poll.method is Method.SCORE:
        for i, option in enumerate(options):
            lines.append(f"{i + 1}. {html.escape(option)}: {values[i]}")
            rows.append([InlineKeyboardButton(f"{i + 1}.", callback_data=callbacks.FORM.data(
                data, UNCHANGED))] + [InlineKeyboardButton(
                    f"[{score}]" if values[i] == score else str(score),
                    callback_data=callbacks.FORM.data(
                        data, UNCHANGED if values[i] == score
                        else _state([*values[:i], score, *values[i + 1:]])))
                    for score in range(SCORE_MAX + 1)])
    elif poll.method is Method.APPROVAL:
        rows += [[InlineKeyboardButton(("☑ " if i in values else "☐ ") + _label(option),
                                       callback_data=callbacks.FORM.data(data, _state(sorted(
                                           set(values) ^ {i}))))]
                 for i, option in enumerate(options)]
    elif poll.method is Method.DOTS:
        left = poll.max_choices - sum(values)
        lines.append(_("Dots left: {left} of {dots}.").format(left=left, dots=poll.max_choices))
        for i, option in enumerate(options):
            more = [*values[:i], values[i] + 1, *values[i + 1:]]
            less = [*values[:i], max(0, values[i] - 1), *values[i + 1:]]
            row = [InlineKeyboardButton(f"{_label(option)} {'●' * values[i] or '○'}",
                                        callback_data=callbacks.FORM.data(
                                            data, _state(more) if left and values[i] < 9
                                            else UNCHANGED))]
            if values[i]:
                row.append(InlineKeyboardButton("−", callback_data=callbacks.FORM.data(
                    data, _state(less))))
            rows.append(row)
    elif poll.method is Method.TIME:
        after = {NO: YES, YES: IF_NEED_BE, IF_NEED_BE: NO}
        rows += [[InlineKeyboardButton(f"{TIME_MARKS[values[i]]} {option}",
                                       callback_data=callbacks.FORM.data(data, _state(
                                           [*values[:i], after[values[i]], *values[i + 1:]])))]
                 for i, option in enumerate(options)]
        lines.append(_("✅ yes · 🤷 if need be · ❌ no"))
    if poll.method is Method.CONSENT:
        rows.append([InlineKeyboardButton(_("I consent"), callback_data=callbacks.CAST.data(
            data, _state([CONSENT]))),
            InlineKeyboardButton(_("I object…"), callback_data=callbacks.OBJECT.data(data))])
    elif valid_ballot(poll.method, values, options=len(options), dots=poll.max_choices):
        rows.append([InlineKeyboardButton(_("Cast this ballot"),
                                          callback_data=callbacks.CAST.data(data,
                                                                            _state(values)))])
    rows.append([InlineKeyboardButton(_("Withdraw my ballot"),
                                      callback_data=callbacks.WITHDRAW.data(data))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def vote_pressed(update: Update, context: YishiContext) -> None:
    """The group post's "Vote": the form in private, or a link that opens the chat."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    pressed = callbacks.VOTE_PRIVATELY.parse(query.data)
    found = await _poll(context, pressed[0]) if pressed else None
    _ = await person_translator(update, context)
    if found is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    poll, community = found
    if poll.status is not PollStatus.OPEN:
        await query.answer(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref), show_alert=True)
        return
    refused = await _refusal(context, poll, community, user.id, _)
    if refused is not None:  # told now, not after a whole form is filled in
        await query.answer(refused, show_alert=True)
        return
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, user.id)
    text, markup = _form(poll, community, blank(poll.method, len(poll.options)), _)
    try:
        if person is None or not person.started:
            raise Forbidden("no private chat with the bot yet")
        await context.bot.send_message(user.id, text, reply_markup=markup)
    except Forbidden:
        # The bot may not write first: Telegram opens the chat with the bot on a link
        # whose /start brings the form.
        link = DeepLink(action=LINK, community_id=poll.id)
        await query.answer(url=link.url(context.services.bot_username))
        return
    await query.answer(_("Your ballot is in your private chat with me."))


async def from_link(update: Update, context: YishiContext) -> None:
    link = DeepLink.parse(" ".join(context.args or []))
    found = await _poll(context, link.community_id) if link else None
    _ = await person_translator(update, context)
    if found is None or found[0].status is not PollStatus.OPEN:
        await flow_reply(update, _("That poll is closed, so it takes no more votes."))
        return
    poll, community = found
    assert update.effective_user is not None
    refused = await _refusal(context, poll, community, update.effective_user.id, _)
    if refused is not None:
        await flow_reply(update, refused)
        return
    text, markup = _form(poll, community, blank(poll.method, len(poll.options)), _)
    await flow_reply(update, text, markup)


async def _refusal(context: YishiContext, poll: Poll, community: Community, user_id: int,
                   _: Translator) -> str | None:
    """Why ``user_id`` may not vote in ``poll``, in their words (None: they may)."""
    is_member = True
    if poll.audience is Audience.MEMBERS and not poll.counts_units:
        is_member = await context.services.admins.is_member(context.bot, community.chat_id,
                                                            user_id)
    async with context.services.db.transaction() as conn:
        refused = await refusal_of(conn, poll, user_id, is_member=is_member)
    if refused is None:
        return None
    outcome, unit = refused
    return _(REFUSALS[outcome]).format(unit=unit or "")


async def form_pressed(update: Update, context: YishiContext) -> None:
    """A press on the form: the same form with the ballot as it now is."""
    query = update.callback_query
    assert query is not None
    pressed = callbacks.FORM.parse(query.data)
    found = await _poll(context, pressed[0]) if pressed else None
    if found is not None and pressed is not None and pressed[1] == UNCHANGED:
        _ = await person_translator(update, context)
        await query.answer(_(HOW_TO[found[0].method]).format(dots=found[0].max_choices),
                           show_alert=True)
        return
    values = _values(found[0], pressed[1]) if found and pressed else None
    if found is None or values is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    poll, community = found
    _ = await person_translator(update, context)
    if poll.status is not PollStatus.OPEN:  # a form kept from before the poll closed
        await flow_reply(update, _("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref))
        return
    text, markup = _form(poll, community, values, _)
    await flow_reply(update, text, markup)


async def cast_pressed(update: Update, context: YishiContext, desk: VoteDesk) -> None:
    query = update.callback_query
    assert query is not None
    if callbacks.WITHDRAW.matches(query.data):
        pressed = callbacks.WITHDRAW.parse(query.data)
        poll_id, ballot = pressed[0], ()
    else:
        pressed = callbacks.CAST.parse(query.data)
        found = await _poll(context, pressed[0]) if pressed else None
        values = _values(found[0], pressed[1]) if found and pressed else None
        if not values:  # nothing filled in is no ballot to cast (withdrawing is its own)
            await refuse(update, context, N_("This button is out of date."))
            return
        poll_id, ballot = pressed[0], tuple(values)
    await _cast(update, context, desk, poll_id, ballot)


async def _cast(update: Update, context: YishiContext, desk: VoteDesk, poll_id: int,
                ballot: tuple[int, ...], reason: str | None = None) -> bool:
    """Record the ballot at the desk and tell the voter; True if it was recorded."""
    user = update.effective_user
    assert user is not None
    services = context.services
    found = await _poll(context, poll_id)
    if found is None:
        await refuse(update, context, N_("This button is out of date."))
        return False
    poll, community = found
    is_member = True
    if await desk.members_only(poll.id):
        is_member = await services.admins.is_member(context.bot, community.chat_id, user.id)
    recorded = await desk.press(Press(poll_id=poll.id, option=0, user_id=user.id,
                                      chat_id=user.id, is_member=is_member, ballot=ballot,
                                      reason=reason))
    _ = await person_translator(update, context)
    outcome = recorded.outcome
    if outcome == "stale":
        await refuse(update, context, N_("This button is out of date."))
        return False
    if outcome == "closed":
        text = _("{ref} is closed; votes are no longer taken.").format(ref=poll.ref)
    elif outcome in REFUSALS:
        text = _(REFUSALS[outcome]).format(unit=recorded.refused_unit or "")
    elif not ballot:
        text = _("Your ballot on {ref} is withdrawn.").format(ref=poll.ref) \
            if recorded.before else _("You have no ballot on {ref}.").format(ref=poll.ref)
    else:
        text = _("Your ballot on {ref} is cast. You can change it until the poll closes: "
                 "fill in the form again.").format(ref=poll.ref)
        if recorded.units:
            text += _(" (for {units})").format(units=_.join(recorded.units))
        if recorded.receipt:
            text += "\n" + _("Receipt: {receipt} (check it with /audit {ref} {receipt})").format(
                receipt=recorded.receipt, ref=poll.ref)
    await flow_reply(update, text)
    if outcome == "ok" and recorded.choice != recorded.before:
        schedule_refresh(context.application, poll.id)
    return outcome == "ok"


async def object_pressed(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    pressed = callbacks.OBJECT.parse(query.data)
    found = await _poll(context, pressed[0]) if pressed else None
    _ = await person_translator(update, context)
    if found is None or found[0].method is not Method.CONSENT \
            or found[0].status is not PollStatus.OPEN:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    context.user_data[DRAFT] = found[0].id
    await query.answer()
    await context.bot.send_message(query.from_user.id, _(
        "Why do you object to {ref}? Your reason is posted with the poll, without your name "
        "(at most {limit} characters). /cancel to stop.").format(ref=found[0].ref,
                                                                  limit=REASON_MAX))
    return REASON


def reason_typed(desk: VoteDesk):  # noqa: ANN201 - a handler bound to the desk
    async def typed(update: Update, context: YishiContext) -> int:
        message = update.effective_message
        assert message is not None
        poll_id = context.user_data.get(DRAFT)
        if not isinstance(poll_id, int):
            return ConversationHandler.END
        text = await typed_within(message, await person_translator(update, context),
                                  REASON_MAX)
        if text is None:
            return REASON
        await _cast(update, context, desk, poll_id, (OBJECT,), reason=text)
        context.user_data.pop(DRAFT, None)
        return ConversationHandler.END
    return typed
