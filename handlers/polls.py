"""Polls (共识投票): moderators create them in private; residents vote with buttons in the
group; the scheduler reminds, closes at the deadline and posts the verdict.

Callback data: ``pc:*`` the creation flow, ``v:<poll>:<option>`` a vote, ``pm:<poll>:*``
a moderator's management buttons. Every one is checked against the database.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import secrets
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.chain import replay, verify
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.households import Household
from bot.domain.models import Community, DueWork, Outgoing, Role
from bot.domain.polls import (
    CIVIL_RULES,
    OPTIONS_MAX,
    OPTIONS_MIN,
    QUESTION_MAX,
    Audience,
    Ballot,
    Outcome,
    Poll,
    PollStatus,
    Refusal,
    Rule,
    Tally,
    Turnout,
    Verdict,
    Weighting,
    decision_title,
    freeze,
    percent,
    thaw_tally,
    thaw_turnout,
    thaw_verdict,
    turnout,
    verdict,
)
from bot.domain.topics import TopicStatus
from bot.domain.units import UnitAddress
from bot.i18n import N_, Translator, normalize_language, translator
from bot.inbox import GUARD_GROUP, mark_done
from bot.roles import chat_admin_ids
from bot.scheduler import Defer, Done
from bot.scheduler import Outcome as DueOutcome
from bot.services import Services
from handlers import outgoing
from handlers.ballots import Press, VoteDesk, pseudonym
from handlers.common import (
    chat_translator,
    ensure_community,
    flow_reply,
    moderated_by,
    moderator_only,
    person_translator,
    private_link,
    record_audit,
    refuse,
    schedule_spaced,
    user_role,
)
from handlers.decisions import from_poll as decisions_from_poll
from handlers.exports import csv_bytes, xlsx_bytes
from handlers.flows import flow, private_flow
from handlers.reports import export_reports
from storage import communities, due_work, memberships, outbox, people, residents
from storage import decisions as decision_store
from storage import polls as store
from storage import topics as topic_store

log = logging.getLogger(__name__)

QUESTION, OPTIONS, DEADLINE, PREVIEW, SCOPE = range(20, 25)
CANCEL_REASON = 30
PROXY_UNIT, PROXY_OPTION = 31, 32
DRAFT = "poll"
PREFILL = "poll_prefill"
CLOSE, RESULT, REMIND = "poll_close", "poll_result", "poll_remind"
POSTED = "poll_post"  # what the outbox records once a poll's post is sent
# Vote buttons: just after the inbox's guard (bot/inbox.GUARD_GROUP), before the features.
VOTE_GROUP = GUARD_GROUP + 1
YES_NO_ABSTAIN = (N_("Yes"), N_("No"), N_("Abstain"))

AUDIENCE_NAMES = {
    Audience.MEMBERS: N_("anyone in the group"),
    Audience.VERIFIED: N_("residents on the roster"),
    Audience.HOUSEHOLDS: N_("one vote per household"),
    Audience.OWNERS: N_("owners only, one vote per household"),
}
WEIGHTING_NAMES = {
    Weighting.PERSON: N_("each vote counts once"),
    Weighting.HOUSEHOLD: N_("each household counts once"),
    Weighting.AREA: N_("votes weigh by floor area"),
}
RULE_NAMES = {
    Rule.PLURALITY: N_("the option with the most votes wins"),
    Rule.MAJORITY: N_("an option needs more than half of the votes cast"),
    Rule.CIVIL_ORDINARY: N_("Civil Code, ordinary matter: 2/3 of area and owners take part, "
                            "more than half of both approve"),
    Rule.CIVIL_MAJOR: N_("Civil Code, major matter: 2/3 of area and owners take part, at "
                         "least 3/4 of both approve"),
}
REFUSALS = {
    Refusal.NOT_MEMBER: N_("Only members of this group can vote."),
    Refusal.NOT_VERIFIED: N_("This poll is for residents on the roster. Send /join to me in "
                             "private to join it."),
    Refusal.NOT_OWNER: N_("This poll is for owners only."),
    Refusal.OUT_OF_SCOPE: N_("This poll is only for the households it names."),
    Refusal.HOUSEHOLD_VOTED: N_("Someone else already voted for your household."),
}


def _cycle(values: list[Any], current: Any) -> Any:
    return values[(values.index(current) + 1) % len(values)]


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def _local(moment: datetime, community: Community) -> str:
    return f"{moment.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


async def _community(community_id: int, context: YishiContext) -> Community | None:
    async with context.services.db.transaction() as conn:
        return await communities.by_id(conn, community_id)


# --- creating -------------------------------------------------------------------------------


@moderator_only
async def poll_in_group(update: Update, context: YishiContext) -> None:
    """/poll in the group (moderators): the poll is prepared in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    await message.reply_text(
        _("Polls are prepared in a private chat with me and then posted here."),
        reply_markup=private_link(context, "poll", community, _("Prepare a poll")))


async def poll_command(update: Update, context: YishiContext) -> int:
    """/poll in private: for which group (of those this person moderates)."""
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await moderated_by(context, user.id)
    if not mine:
        await flow_reply(update, _("Only moderators can create polls. You are not a moderator "
                                   "of any group I am in."))
        return ConversationHandler.END
    if len(mine) == 1:
        return await _begin(update, context, mine[0])
    await flow_reply(update, _("For which group?"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.title, callback_data=f"pc:g:{c.id}")] for c in mine]))
    return QUESTION


async def poll_from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    community = await _community(link.community_id, context) if link else None
    _ = await person_translator(update, context)
    if community is None or not community.active:
        await flow_reply(update, _("That link is not valid any more, so I started from the "
                                   "beginning."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await flow_reply(update, _("Sorry, only the group's moderators can do that. Nothing was "
                                   "changed."))
        return ConversationHandler.END
    return await _begin(update, context, community)


async def group_button(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = (query.data or "").rsplit(":", 1)[-1]
    mine = {str(c.id): c for c in await moderated_by(context, user.id)}
    if wanted not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return QUESTION
    return await _begin(update, context, mine[wanted])


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    _ = await person_translator(update, context)
    draft = {"community": community.id, "audience": Audience.VERIFIED.value,
             "weighting": Weighting.PERSON.value, "rule": Rule.PLURALITY.value,
             "multiple": False, "max_choices": 1, "live": True, "secret": False}
    prefill = context.user_data.pop(PREFILL, None)
    if prefill and prefill.get("community") == community.id:
        draft["topic"] = prefill["topic"]
        context.user_data[DRAFT] = draft
        return await _take_question(update, context, prefill["question"])
    context.user_data[DRAFT] = draft
    await flow_reply(update, _("What should {group} decide? Write the question (at most "
                               "{limit} characters).").format(
        group=html.escape(community.title), limit=QUESTION_MAX))
    return QUESTION


async def question_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    if "community" not in _draft(context):
        return await poll_command(update, context)
    return await _take_question(update, context, message.text)


async def _take_question(update: Update, context: YishiContext, question: str) -> int:
    _ = await person_translator(update, context)
    question = " ".join(question.split())
    if not question or len(question) > QUESTION_MAX:
        await flow_reply(update, _("The question needs 1 to {limit} characters; yours has "
                                   "{length}.").format(limit=QUESTION_MAX, length=len(question)))
        return QUESTION
    _draft(context)["question"] = question
    await flow_reply(update, _("The answers: press Yes / No / Abstain, or write 2 to {max} "
                               "options, one per line.").format(max=OPTIONS_MAX),
                     InlineKeyboardMarkup([[InlineKeyboardButton(
                         " / ".join(_(o) for o in YES_NO_ABSTAIN),
                         callback_data="pc:o:yna")]]))
    return OPTIONS


async def options_preset(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    draft["options"] = [_(o) for o in YES_NO_ABSTAIN]
    draft["yes_no"] = True
    return await _ask_deadline(update, context)


async def options_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    options = [" ".join(line.split()) for line in message.text.splitlines() if line.strip()]
    if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX or len(set(options)) != len(options) \
            or any(len(o) > 60 for o in options):
        await message.reply_text(_("Please write 2 to {max} different options, one per line, "
                                   "each at most 60 characters.").format(max=OPTIONS_MAX))
        return OPTIONS
    draft = _draft(context)
    draft["options"], draft["yes_no"] = options, False
    return await _ask_deadline(update, context)


async def _ask_deadline(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    buttons = [InlineKeyboardButton(label, callback_data=f"pc:d:{code}")
               for code, label in (("1d", _("1 day")), ("3d", _("3 days")),
                                   ("1w", _("1 week")))]
    await flow_reply(update, _("Until when can people vote? Press one, or type e.g. 12h, 2w or "
                               "2026-12-01 20:00."), InlineKeyboardMarkup([buttons]))
    return DEADLINE


async def deadline_button(update: Update, context: YishiContext) -> int:
    code = ((update.callback_query.data if update.callback_query else "") or "").rsplit(":")[-1]
    return await _take_deadline(update, context, code)


async def deadline_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    return await _take_deadline(update, context, message.text)


async def _take_deadline(update: Update, context: YishiContext, text: str) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    community = await _community(draft["community"], context)
    assert community is not None
    try:
        deadline = parse_deadline(text, context.services.clock.now(), community.timezone)
    except DeadlineError as exc:
        problem = {"unreadable": _("I could not read that. Type e.g. 3d, 12h, 1w or "
                                   "2026-12-01 20:00."),
                   "too_soon": _("A poll must stay open at least 10 minutes."),
                   "too_far": _("A poll can stay open at most 60 days.")}[exc.code]
        await flow_reply(update, problem)
        return DEADLINE
    draft["deadline"] = deadline.isoformat()
    return await _preview(update, context)


def _describe(draft_or_poll: dict[str, Any], _: Translator) -> list[str]:
    d = draft_or_poll
    scope = _("all households")
    if d.get("scope_building"):
        scope = _("building {building}").format(building=d["scope_building"]) + (
            _(", staircase {staircase}").format(staircase=d["scope_staircase"])
            if d.get("scope_staircase") else "")
    choice = _("one choice") if not d["multiple"] else _("up to {count} choices").format(
        count=d["max_choices"])
    return [
        _("Who votes: {audience} ({scope})").format(
            audience=_(AUDIENCE_NAMES[Audience(d["audience"])]), scope=scope),
        _("Counting: {weighting}; {choice}").format(
            weighting=_(WEIGHTING_NAMES[Weighting(d["weighting"])]), choice=choice),
        _("Decided by: {rule}").format(rule=_(RULE_NAMES[Rule(d["rule"])])),
        _("Results: {when}").format(when=_("shown live") if d["live"]
                                    else _("shown after closing")),
        _("Ballot: secret (nobody can see who voted what, only who took part)")
        if d.get("secret") else _("Ballot: public (moderators can see who voted what)"),
    ]


async def _preview(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    community = await _community(draft["community"], context)
    assert community is not None
    deadline = datetime.fromisoformat(draft["deadline"])
    lines = [_("<b>Preview</b> for {group}").format(group=html.escape(community.title)), "",
             f"<b>{html.escape(draft['question'])}</b>",
             *(f"• {html.escape(o)}" for o in draft["options"]), "",
             _("Deadline: {when}").format(when=_local(deadline, community)),
             *_describe(draft, _), "",
             _("Change a setting with the buttons, then publish.")]
    buttons = InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Who votes"), callback_data="pc:s:audience"),
         InlineKeyboardButton(_("Counting"), callback_data="pc:s:weighting")],
        [InlineKeyboardButton(_("Rule"), callback_data="pc:s:rule"),
         InlineKeyboardButton(_("Choices"), callback_data="pc:s:multiple")],
        [InlineKeyboardButton(_("Results live/after"), callback_data="pc:s:live"),
         InlineKeyboardButton(_("Limit to a building"), callback_data="pc:s:scope")],
        [InlineKeyboardButton(_("Secret / public ballot"), callback_data="pc:s:secret")],
        [InlineKeyboardButton(_("Publish"), callback_data="pc:go"),
         InlineKeyboardButton(_("Edit the question"), callback_data="pc:e"),
         InlineKeyboardButton(_("Cancel"), callback_data="pc:x")],
    ])
    await flow_reply(update, "\n".join(lines), buttons)
    return PREVIEW


async def setting_button(update: Update, context: YishiContext) -> int:
    """Cycle one setting in the preview; Civil Code rules bring their own requirements."""
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    which = (query.data or "").rsplit(":", 1)[-1]
    _ = await person_translator(update, context)
    if which == "audience":
        draft["audience"] = _cycle([a.value for a in Audience], draft["audience"])
    elif which == "weighting":
        draft["weighting"] = _cycle([w.value for w in Weighting], draft["weighting"])
    elif which == "rule":
        rule = _cycle([r.value for r in Rule], draft["rule"])
        if Rule(rule) in CIVIL_RULES and not draft.get("yes_no"):
            rule = Rule.PLURALITY.value  # skip the Civil Code rules: they need Yes/No/Abstain
            await query.answer(_("The Civil Code rules need the Yes / No / Abstain answers."),
                               show_alert=True)
        draft["rule"] = rule
        if Rule(rule) in CIVIL_RULES:
            draft.update(audience=Audience.OWNERS.value, weighting=Weighting.AREA.value,
                         multiple=False, max_choices=1)
    elif which == "multiple":
        count = len(draft["options"])
        steps = [(False, 1)] + [(True, n) for n in range(2, count + 1)]
        if Rule(draft["rule"]) in CIVIL_RULES:
            steps = [(False, 1)]
        current = (draft["multiple"], draft["max_choices"])
        draft["multiple"], draft["max_choices"] = _cycle(steps, current) \
            if current in steps else steps[0]
    elif which == "live":
        draft["live"] = not draft["live"]
    elif which == "secret":
        draft["secret"] = not draft["secret"]
    elif which == "scope":
        await query.answer()
        await query.message.reply_text(_("Type the building (e.g. 3) or building and "
                                         "staircase (e.g. 3-2) the poll is for, or “all”."))
        return SCOPE
    else:
        await refuse(update, context, N_("This button is out of date."))
        return PREVIEW
    return await _preview(update, context)


async def scope_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    text = message.text.strip()
    draft = _draft(context)
    if text.lower() in ("all", "全部"):
        draft["scope_building"] = draft["scope_staircase"] = None
        return await _preview(update, context)
    parts = [p.strip().upper() for p in text.replace("－", "-").split("-")]
    if not 1 <= len(parts) <= 2 or not all(p.isalnum() and len(p) <= 4 for p in parts):
        _ = await person_translator(update, context)
        await message.reply_text(_("Type a building like 3, a staircase like 3-2, or “all”."))
        return SCOPE
    draft["scope_building"] = parts[0]
    draft["scope_staircase"] = parts[1] if len(parts) == 2 else None
    return await _preview(update, context)


async def edit_question(update: Update, context: YishiContext) -> int:
    """Back to the question; the answers, deadline and settings are asked again after it."""
    _ = await person_translator(update, context)
    await flow_reply(update, _("Write the question again (at most {limit} characters).")
                     .format(limit=QUESTION_MAX))
    return QUESTION


async def cancel_draft(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    await flow_reply(update, _("Cancelled. Nothing was sent."))
    return ConversationHandler.END


async def publish(update: Update, context: YishiContext) -> int:
    """Publish: store the poll, post it, arm its reminders and its deadline."""
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, {})
    _ = await person_translator(update, context)
    community = await _community(draft.get("community", 0), context)
    if community is None or "deadline" not in draft:
        await flow_reply(update, _("This button is out of date."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await flow_reply(update, _("Sorry, only the group's moderators can do that. Nothing was "
                                   "changed."))
        return ConversationHandler.END
    services = context.services
    now = services.clock.now()
    deadline = datetime.fromisoformat(draft["deadline"])
    if deadline <= now + timedelta(minutes=10):
        await flow_reply(update, _("A poll must stay open at least 10 minutes."))
        return ConversationHandler.END
    async with services.db.transaction() as conn:
        poll = await store.create(
            conn, community_id=community.id, now=now, question=draft["question"],
            options=draft["options"], multiple=draft["multiple"],
            max_choices=draft["max_choices"], deadline=deadline, audience=draft["audience"],
            scope_building=draft.get("scope_building"),
            scope_staircase=draft.get("scope_staircase"), weighting=draft["weighting"],
            rule=draft["rule"], live_results=draft["live"], topic_id=draft.get("topic"),
            created_by=user.id, secret=draft.get("secret", False))
        if poll.secret:
            await store.set_key(conn, poll.id, secrets.token_hex(32))
        # Its deadline, its reminders and its post go with it, or not at all.
        await _arm(conn, services, poll)
        await outbox.queue(conn, [await _post(conn, poll, community)], now)
    services.outbox.kick()
    await record_audit(context, community, update, "poll.create", poll=poll.id)
    await flow_reply(update, _("{ref} is posted in {group}. It closes {when}.").format(
        ref=poll.ref, group=html.escape(community.title), when=_local(deadline, community)),
        _management_buttons(poll, _))
    return ConversationHandler.END


def _management_buttons(poll: Poll, _: Translator) -> InlineKeyboardMarkup:
    rows = [[
        InlineKeyboardButton(_("Close now"), callback_data=f"pm:{poll.id}:close"),
        InlineKeyboardButton(_("Extend 1 day"), callback_data=f"pm:{poll.id}:extend"),
        InlineKeyboardButton(_("Cancel poll"), callback_data=f"pm:{poll.id}:cancel"),
    ]]
    if poll.counts_units and not poll.multiple and not poll.secret:
        rows.append([InlineKeyboardButton(_("Proxy vote (paper or phone)"),
                                          callback_data=f"pm:{poll.id}:proxy")])
    return InlineKeyboardMarkup(rows)


async def _arm(conn: AsyncConnection, services: Services, poll: Poll) -> None:
    """The deadline and the reminders, in the database (so a restart keeps them), in the
    transaction that creates or extends the poll."""
    now = services.clock.now()
    await due_work.schedule(conn, kind=CLOSE, key=str(poll.id), due_at=poll.deadline,
                            now=now, payload={"poll": poll.id})
    for hours in services.settings.polls.reminder_hours:
        due = poll.deadline - timedelta(hours=hours)
        key = f"{poll.id}:{hours:g}"
        if due > now:
            await due_work.schedule(conn, kind=REMIND, key=key, due_at=due, now=now,
                                    payload={"poll": poll.id})
        else:
            await due_work.cancel(conn, kind=REMIND, key=key)


# --- the post in the group ------------------------------------------------------------------


async def _count_now(app: YishiApp, poll: Poll) -> tuple[Tally, Verdict, Turnout]:
    async with app.bot_data.services.db.transaction() as conn:
        return await _count(conn, poll)


async def _count(conn: AsyncConnection, poll: Poll) -> tuple[Tally, Verdict, Turnout]:
    """The count: live while the poll is open; once closed, exactly as it was at closing
    (a roster that changes later does not change a decided result)."""
    if poll.status is not PollStatus.OPEN and poll.result:
        frozen = poll.result
        return (thaw_tally(frozen["tally"]), thaw_verdict(frozen["verdict"]),
                thaw_turnout(frozen["turnout"]))
    roster = await residents.households(conn, poll.community_id)
    ballots = await store.counted(conn, poll.id)
    poll_key = await store.key(conn, poll.id) if poll.secret else None
    if poll_key is not None:
        ballots = _resolve_units(ballots, poll_key, roster)
    result, meaning = verdict(poll, ballots, roster)
    return result, meaning, turnout(poll, roster, result, ballots)


def _resolve_units(ballots: list[Ballot], poll_key: str,
                   roster: list[Household]) -> list[Ballot]:
    """A secret ballot names its household only by a keyed pseudonym; while the key exists
    (until closing) the count can find the unit again, to weigh it."""
    by_key = {"k:" + pseudonym(poll_key, f"unit:{h.unit_id}"): h.unit_id for h in roster}
    return [b.model_copy(update={"unit_id": by_key.get(b.unit_key)}) if b.unit_key else b
            for b in ballots]


def _weight(value: Fraction, poll: Poll) -> str:
    if poll.weighting is Weighting.AREA:
        return f"{float(value):.2f} m²"
    return str(int(value)) if value.denominator == 1 else f"{float(value):.2f}"


def turnout_text(figures: Turnout, _: Translator) -> str:
    if figures.civil:
        return _("Turnout: {area} of the floor area, {owners} of the owners (2/3 of both "
                 "needed)").format(area=percent(figures.area_share),
                                   owners=percent(figures.owner_share))
    if figures.units is not None:
        return _("Turnout: {ballots} of {units} households").format(ballots=figures.ballots,
                                                                    units=figures.units)
    return _("Turnout: {ballots} votes").format(ballots=figures.ballots)


def _results_lines(poll: Poll, result: Tally, _: Translator) -> list[str]:
    lines = []
    for index, option in enumerate(poll.options):
        share = result.weights[index] / result.total_weight if result.total_weight else None
        line = _("{option}: {votes} votes").format(option=html.escape(option),
                                                   votes=result.votes[index])
        if poll.weighting is Weighting.AREA:
            line += f", {_weight(result.weights[index], poll)}"
        lines.append(_("{line} ({share})").format(line=line, share=percent(share)))
    return lines


async def _render(conn: AsyncConnection, poll: Poll, community: Community) -> tuple[
        str, InlineKeyboardMarkup | None]:
    _ = translator(community.language)
    result, meaning, figures = await _count(conn, poll)
    lines = [f"<b>{poll.ref} · {html.escape(poll.question)}</b>", ""]
    if poll.status is PollStatus.OPEN:
        lines.append(_("Vote until {when} ({zone}).").format(when=_local(poll.deadline,
                                                                          community),
                                                             zone=community.timezone))
    lines += _describe(_settings_of(poll), _)
    lines.append(turnout_text(figures, _))
    if poll.status is PollStatus.OPEN:
        if poll.live_results:
            lines += ["", *_results_lines(poll, result, _)]
        buttons = [InlineKeyboardButton(option, callback_data=f"v:{poll.id}:{index}")
                   for index, option in enumerate(poll.options)]
        markup = InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
        return "\n".join(lines), markup
    if poll.status is PollStatus.CANCELLED:
        lines += ["", _("Cancelled by the moderators. Reason: {reason}").format(
            reason=html.escape(poll.reason or "—"))]
    else:
        lines += ["", *_results_lines(poll, result, _), "",
                  verdict_text(poll, meaning, _)]
    return "\n".join(lines), None


def verdict_text(poll: Poll, meaning: Verdict, _: Translator) -> str:
    outcome = meaning.outcome
    if outcome is Outcome.NO_VOTES:
        return _("Result: nobody voted.")
    if outcome is Outcome.TIE:
        return _("Result: a tie; no option won.")
    if outcome is Outcome.NO_MAJORITY:
        return _("Result: no option got more than half of the votes.")
    if outcome is Outcome.WON:
        return _("Result: “{option}” won.").format(option=html.escape(
            poll.options[meaning.winner or 0]))
    figures = {"area_turnout": percent(meaning.area_turnout),
               "owner_turnout": percent(meaning.owner_turnout),
               "area_yes": percent(meaning.area_approval),
               "owner_yes": percent(meaning.owner_approval),
               "needed": "3/4" if poll.rule is Rule.CIVIL_MAJOR else _("more than 1/2")}
    if outcome is Outcome.NO_QUORUM:
        missing = []
        if not meaning.quorum_area:
            missing.append(_("{share} of the floor area took part").format(
                share=figures["area_turnout"]))
        if not meaning.quorum_owners:
            missing.append(_("{share} of the owners took part").format(
                share=figures["owner_turnout"]))
        return _("No quorum: {missing}; 2/3 needed.").format(missing="; ".join(missing))
    if outcome is Outcome.PASSED:
        return _("Passed: {area_yes} of the participating area and {owner_yes} of the "
                 "participating owners approved ({needed} needed); turnout {area_turnout} "
                 "of the area, {owner_turnout} of the owners.").format(**figures)
    failed = []
    if not meaning.approved_area:
        failed.append(_("the area ({area_yes})").format(**figures))
    if not meaning.approved_owners:
        failed.append(_("the owners ({owner_yes})").format(**figures))
    passed_on = []
    if meaning.approved_area:
        passed_on.append(_("the area ({area_yes})").format(**figures))
    if meaning.approved_owners:
        passed_on.append(_("the owners ({owner_yes})").format(**figures))
    text = _("Not passed: not enough approval from {failed} ({needed} needed).").format(
        failed=_(" and ").join(failed), needed=figures["needed"])
    if passed_on:
        text += " " + _("It did reach the threshold for {passed}.").format(
            passed=_(" and ").join(passed_on))
    return text


def _settings_of(poll: Poll) -> dict[str, Any]:
    """A poll's settings in the draft's shape, for the shared description."""
    return {"audience": poll.audience.value, "weighting": poll.weighting.value,
            "rule": poll.rule.value, "multiple": poll.multiple,
            "max_choices": poll.max_choices, "live": poll.live_results,
            "scope_building": poll.scope_building, "scope_staircase": poll.scope_staircase,
            "secret": poll.secret}


def _digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    shown = json.dumps([text, markup.to_dict() if markup else None], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()


async def _post(conn: AsyncConnection, poll: Poll, community: Community) -> Outgoing:
    """The poll's post in the group, queued; its message id is recorded once it is sent."""
    text, markup = await _render(conn, poll, community)
    return outgoing.message(f"poll:{poll.id}:post", community.chat_id, text, markup=markup,
                            remember={"what": POSTED, "poll": poll.id,
                                      "digest": _digest(text, markup)})


async def _posted(conn: AsyncConnection, remember: dict[str, Any], answer: Any) -> None:
    """The post went out: note where it is. Votes that came while it was on its way could
    not be shown on it yet: if it no longer shows the count, it is edited at once."""
    poll_id = int(remember["poll"])
    await store.set_post(conn, poll_id, int(answer["chat"]["id"]), int(answer["message_id"]),
                         remember["digest"])
    poll = await store.get(conn, poll_id)
    community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None:
        return
    text, markup = await _render(conn, poll, community)
    digest = _digest(text, markup)
    if await store.swap_post_digest(conn, poll.id, digest):
        await outbox.queue(conn, [outgoing.edit_text(
            f"poll:{poll.id}:post:{digest[:16]}", community.chat_id,
            int(answer["message_id"]), text, markup=markup)], poll.created_at)


async def refresh_post(app: YishiApp, poll_id: int) -> None:
    """Bring the group post up to date, unless it already shows exactly this."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
        if poll is None or community is None or poll.post_message_id is None:
            return
        text, markup = await _render(conn, poll, community)
        if not await store.swap_post_digest(conn, poll.id, _digest(text, markup)):
            return
    try:
        await app.bot.edit_message_text(text, chat_id=poll.post_chat_id,
                                        message_id=poll.post_message_id, reply_markup=markup)
    except BadRequest as exc:
        log.info("poll post not edited", extra={"poll": poll_id, "error": str(exc)})


def schedule_refresh(app: YishiApp, poll_id: int) -> None:
    """A burst of votes becomes one edit, at most every tally_refresh_seconds."""
    schedule_spaced(app, f"poll-post:{poll_id}",
                    app.bot_data.services.settings.polls.tally_refresh_seconds,
                    _refresh_job, poll_id)


async def _refresh_job(context: YishiContext) -> None:
    assert context.job is not None
    await refresh_post(context.application, int(context.job.data))


# --- voting -----------------------------------------------------------------------------------


async def vote(update: Update, context: YishiContext) -> None:
    """A vote button: validated against the poll, the option and the voter, and recorded
    with the presses that came with it (handlers/ballots.py)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    services = context.services
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        await refuse(update, context, N_("This button is out of date."))
        return
    recorded = await services.votes.press(Press(
        poll_id=int(parts[1]), option=int(parts[2]), user_id=user.id,
        chat_id=query.message.chat.id if query.message else None,
        update_id=update.update_id))
    poll, person, outcome = recorded.poll, recorded.person, recorded.outcome
    language = person.language if person is not None and person.language else \
        normalize_language(user.language_code, services.default_language)
    _ = translator(language)
    if outcome == "stale" or poll is None:
        await refuse(update, context, N_("This button is out of date."))
    elif outcome == "closed":
        await query.answer(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref), show_alert=True)
    elif outcome in REFUSALS:
        await query.answer(_(REFUSALS[outcome]), show_alert=True)
    elif recorded.choice is None:
        await query.answer(_("You can choose at most {count} options; remove one first.")
                           .format(count=poll.max_choices), show_alert=True)
    else:
        if not recorded.choice:
            await query.answer(_("Your vote on {ref} is withdrawn.").format(ref=poll.ref))
        else:
            await query.answer(_("Recorded for {ref}: {choice}").format(
                ref=poll.ref, choice=", ".join(poll.options[i] for i in recorded.choice)))
        if recorded.choice != recorded.before:
            schedule_refresh(context.application, poll.id)


async def vote_first(update: Update, context: YishiContext) -> None:
    """Vote buttons are taken right after the inbox's guard, and nothing else sees them:
    a vote is a vote whatever flow the person is in, and in a burst every press would
    otherwise be offered to each of the features' handlers in turn. A press touches no
    flow and no chat or user data, so of what after_update does for other updates only
    the last step is left: the update leaves the inbox (the vote batch usually took it
    out already, in the transaction that recorded the vote)."""
    try:
        await vote(update, context)
    except Exception as exc:
        # As PTB would: the error handler logs it and apologises to the person.
        await context.application.process_error(update=update, error=exc)
    await mark_done(context.services, update.update_id)
    raise ApplicationHandlerStop


# --- closing, results, reminders ------------------------------------------------------------


def _result_record(result: Tally, meaning: Verdict, figures: Turnout) -> dict[str, Any]:
    """What is kept of a closed poll's count, exactly (fractions as text)."""
    return {"tally": freeze(result), "verdict": freeze(meaning), "turnout": freeze(figures)}


async def close_poll(app: YishiApp, poll_id: int) -> bool:
    """Close an open poll once. One transaction counts, stores the result, hands on to the
    topic and the decisions, and queues everything the close owes: the post showing the
    result, the result in the group (after its quiet hours), and the moderators' word about
    a decision it made. A crash or a slow Telegram at any point loses none of them."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None or poll.status is not PollStatus.OPEN:
        return False
    # Asked of Telegram before the transaction, which must not wait on the network.
    admins = await chat_admin_ids(app.bot, community.chat_id)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        if poll is None or poll.status is not PollStatus.OPEN:
            return False
        result, meaning, figures = await _count(conn, poll)
        if not await store.finish(conn, poll.id, PollStatus.CLOSED, now,
                                  result=_result_record(result, meaning, figures)):
            return False
        await store.destroy_key(conn, poll.id)
        if poll.topic_id is not None:
            await topic_store.move(conn, poll.topic_id, from_status=TopicStatus.SELECTED_VOTE,
                                   to_status=TopicStatus.DECIDED, now=now)
        closed = await store.get(conn, poll.id)
        assert closed is not None
        owed = [*await _final_post(conn, closed, community),
                _result_message(closed, community, result, meaning, figures, now)]
        decided = decision_title(poll, meaning)
        if decided and await decision_store.for_poll(conn, poll.id) is None:
            made = await decision_store.create(conn, community_id=poll.community_id,
                                               title=decided, poll_id=poll.id,
                                               topic_id=poll.topic_id, now=now)
            owed += await decisions_from_poll(conn, services, made, community, admins)
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return True


async def _final_post(conn: AsyncConnection, poll: Poll, community: Community) -> list[Outgoing]:
    """The post's last edit: the result in place of the buttons (none if it was never
    posted)."""
    if poll.post_message_id is None or poll.post_chat_id is None:
        return []
    text, markup = await _render(conn, poll, community)
    await store.swap_post_digest(conn, poll.id, _digest(text, markup))
    return [outgoing.edit_text(f"poll:{poll.id}:post:{poll.status.value}", poll.post_chat_id,
                               poll.post_message_id, text, markup=markup)]


def _result_message(poll: Poll, community: Community, result: Tally, meaning: Verdict,
                    figures: Turnout, now: datetime) -> Outgoing:
    _ = translator(community.language)
    lines = [_("<b>{ref} is closed</b>: {question}").format(
        ref=poll.ref, question=html.escape(poll.question)),
        *_results_lines(poll, result, _), turnout_text(figures, _), "",
        verdict_text(poll, meaning, _)]
    # The result waits for the end of the group's quiet hours; the poll is closed now.
    return outgoing.message(f"poll:{poll.id}:result", community.chat_id, "\n".join(lines),
                            not_before=community.quiet_until(now))


async def close_due(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_close``: the deadline came (perhaps while the bot was down)."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
    if poll is not None and poll.status is PollStatus.OPEN \
            and poll.deadline > services.clock.now():
        # Extended since this was armed: the new deadline has its own item.
        return Done()
    await close_poll(app, work.payload["poll"])
    return Done()


async def announce_result(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_result``, queued by versions before the outbox (a database upgraded
    with one still waiting): tell the group, outside quiet hours."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None or poll.status is not PollStatus.CLOSED:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    await _announce(app, poll.id, community)
    return Done()


async def _announce(app: YishiApp, poll_id: int, community: Community) -> None:
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        assert poll is not None
        result, meaning, figures = await _count(conn, poll)
        await outbox.queue(conn, [_result_message(poll, community, result, meaning, figures,
                                                  now)], now)
    services.outbox.kick()


async def remind(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_remind``: the group hears the turnout; those who may vote and have
    not yet, and who have a private chat with the bot, get a word. Never in quiet hours:
    moved to when they end, or dropped if the poll closes first."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
        community = await communities.by_id(conn, poll.community_id) if poll else None
    now = services.clock.now()
    if poll is None or community is None or poll.status is not PollStatus.OPEN \
            or poll.deadline <= now:
        return Done()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Done() if quiet_until >= poll.deadline else Defer(quiet_until)
    _ = translator(community.language)
    # The group's word and each private one are queued together under this reminder's
    # name: a reminder run again (after a crash) sends none of them twice.
    key = f"poll:{poll.id}:remind:{work.key}:{poll.deadline.isoformat()}"
    async with services.db.transaction() as conn:
        _result, _meaning, figures = await _count(conn, poll)
        roster = await residents.households(conn, poll.community_id)
        owed = [outgoing.message(f"{key}:group", community.chat_id, "\n".join([
            _("Reminder: {ref} “{question}” closes {when}.").format(
                ref=poll.ref, question=html.escape(poll.question),
                when=_local(poll.deadline, community)),
            turnout_text(figures, _)]))]
        for person in await _not_yet_voted(conn, poll, roster):
            reader = translator(person.reads(services.default_language))
            owed.append(outgoing.message(f"{key}:{person.user_id}", person.user_id, reader(N_(
                "{ref} in {group} closes {when}, and you have not voted yet. Vote with the "
                "buttons under the poll in the group.")).format(
                ref=poll.ref, group=html.escape(community.title),
                when=_local(poll.deadline, community))))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return Done()



async def _not_yet_voted(conn: AsyncConnection, poll: Poll,
                         roster: list[Household]) -> list[Any]:
    """People who may vote, have not, and can be written to."""
    voted = await store.voters(conn, poll.id)
    units_voted = set((await store.household_voters(conn, poll.id)).keys())
    if poll.audience is Audience.MEMBERS:
        candidates = set(await memberships.members(conn, poll.community_id))
    else:
        candidates = set()
        for household in roster:
            if not poll.scope.covers(household):
                continue
            if poll.counts_units and household.unit_id in units_voted:
                continue
            for member in household.members:
                if poll.audience is Audience.OWNERS and member.user_id not in \
                        household.owners:
                    continue
                candidates.add(member.user_id)
    known = await people.names(conn, sorted(candidates - voted))
    return [p for p in known.values() if p.started]


# --- moderators' controls -----------------------------------------------------------------------


async def _managed(update: Update, context: YishiContext) -> tuple[Poll, Community] | None:
    """The poll a management button is about, if the presser moderates it and it is open."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    poll = None
    if len(parts) == 3 and parts[1].isdigit():
        async with context.services.db.transaction() as conn:
            poll = await store.get(conn, int(parts[1]))
    community = await _community(poll.community_id, context) if poll else None
    if poll is None or community is None:
        await refuse(update, context, N_("This button is out of date."))
        return None
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return None
    if poll.status is not PollStatus.OPEN:
        _ = await person_translator(update, context)
        await query.answer(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref), show_alert=True)
        return None
    return poll, community


async def close_now(update: Update, context: YishiContext) -> None:
    found = await _managed(update, context)
    if found is None:
        return
    poll, community = found
    _ = await person_translator(update, context)
    await update.callback_query.answer(_("Closing {ref}.").format(ref=poll.ref))
    if await close_poll(context.application, poll.id):
        await record_audit(context, community, update, "poll.close_early", poll=poll.id)
        async with context.services.db.transaction() as conn:
            await due_work.cancel(conn, kind=CLOSE, key=str(poll.id))


async def extend(update: Update, context: YishiContext) -> None:
    found = await _managed(update, context)
    if found is None:
        return
    poll, community = found
    _ = await person_translator(update, context)
    deadline = poll.deadline + timedelta(days=1)
    if deadline > poll.created_at + timedelta(days=60):
        await update.callback_query.answer(_("A poll can stay open at most 60 days."),
                                           show_alert=True)
        return
    services = context.services
    group = translator(community.language)
    async with services.db.transaction() as conn:
        await store.set_deadline(conn, poll.id, deadline)
        poll = await store.get(conn, poll.id)
        assert poll is not None
        await _arm(conn, services, poll)
        # What a moderator does by hand is said at once, quiet hours or not.
        await outbox.queue(conn, [outgoing.message(
            f"poll:{poll.id}:extended:{deadline.isoformat()}", community.chat_id, group(N_(
                "{ref} is extended: you can vote until {when}.")).format(
                ref=poll.ref, when=_local(deadline, community)))], services.clock.now())
    await record_audit(context, community, update, "poll.extend", poll=poll.id,
                       deadline=deadline.isoformat())
    await update.callback_query.answer(_("Extended."))
    await refresh_post(context.application, poll.id)
    services.outbox.kick()



async def ask_cancel_reason(update: Update, context: YishiContext) -> int:
    found = await _managed(update, context)
    if found is None:
        return ConversationHandler.END
    poll, _community_ = found
    context.user_data["poll_cancel"] = poll.id
    _ = await person_translator(update, context)
    await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Why is {ref} cancelled? Reply with the reason; the group will read it. /cancel to "
          "keep the poll.").format(ref=poll.ref))
    return CANCEL_REASON


async def cancel_reason_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    poll_id = context.user_data.pop("poll_cancel", None)
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, poll_id) if poll_id else None
    community = await _community(poll.community_id, context) if poll else None
    if poll is None or community is None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    reason = message.text.strip()[:500]
    services = context.services
    group = translator(community.language)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        cancelled = await store.finish(conn, poll.id, PollStatus.CANCELLED, now, reason=reason)
        if cancelled:
            await store.destroy_key(conn, poll.id)
            await due_work.cancel(conn, kind=CLOSE, key=str(poll.id))
            ended = await store.get(conn, poll.id)
            assert ended is not None
            await outbox.queue(conn, [*await _final_post(conn, ended, community),
                                      outgoing.message(
                f"poll:{poll.id}:cancelled", community.chat_id, group(N_(
                    "{ref} was cancelled by the moderators. Reason: {reason}")).format(
                    ref=poll.ref, reason=html.escape(reason)))], now)
    if not cancelled:
        await message.reply_text(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref))
        return ConversationHandler.END
    services.outbox.kick()
    await record_audit(context, community, update, "poll.cancel", poll=poll.id, reason=reason)
    await message.reply_text(_("Done."))
    return ConversationHandler.END



# --- /polls, /audit, /export ---------------------------------------------------------------------


async def list_polls(update: Update, context: YishiContext) -> None:
    """/polls in the group: open polls and the most recent closed ones."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    async with context.services.db.transaction() as conn:
        recent = await store.recent(conn, community.id)
    if not recent:
        await message.reply_text(_("No polls yet. Moderators create them with /poll."))
        return
    lines = [_("<b>Polls in {group}</b>").format(group=html.escape(community.title))]
    for poll in recent:
        if poll.status is PollStatus.OPEN:
            state = _("open until {when}").format(when=_local(poll.deadline, community))
        elif poll.status is PollStatus.CANCELLED:
            state = _("cancelled")
        else:
            state = _("closed: {outcome}").format(outcome=_verdict_short(poll, _))
        lines.append(f"{poll.ref} · {html.escape(poll.question[:80])} — {state}")
    await message.reply_text("\n".join(lines))


OUTCOME_NAMES = {
    Outcome.WON: N_("decided"), Outcome.TIE: N_("a tie"), Outcome.NO_MAJORITY: N_("no majority"),
    Outcome.PASSED: N_("passed"), Outcome.REJECTED: N_("not passed"),
    Outcome.NO_QUORUM: N_("no quorum"), Outcome.NO_VOTES: N_("no votes"),
}


def _verdict_short(poll: Poll, _: Translator) -> str:
    outcome = Outcome((poll.result or {}).get("verdict", {}).get("outcome",
                                                                 Outcome.NO_VOTES.value))
    return _(OUTCOME_NAMES[outcome])


async def _poll_from_args(update: Update, context: YishiContext) -> tuple[Poll, Community] | None:
    """The poll named in the command (P-3 or 3) in this group; says so when there is none."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    raw = (context.args or [""])[0].upper().removeprefix("P-")
    poll = None
    if raw.isdigit():
        async with context.services.db.transaction() as conn:
            poll = await store.by_number(conn, community.id, int(raw))
    if poll is None:
        await message.reply_text(_("Name a poll of this group, e.g. P-3 (see /polls)."))
        return None
    return poll, community


async def audit_poll(update: Update, context: YishiContext) -> None:
    """/audit P-3: recompute the vote log's hash chain and check the ballots against it."""
    found = await _poll_from_args(update, context)
    if found is None:
        return
    poll, community = found
    _ = translator(community.language)
    async with context.services.db.transaction() as conn:
        links = await store.chain(conn, poll.id)
        rows = await store.ballot_rows(conn, poll.id)
    check = verify(links)
    stored_ballots = {r["voter_key"]: list(r["choice"]) for r in rows}
    matches = check.intact and replay(link.entry for link in links) == stored_ballots
    if matches:
        text = _("{ref}: the vote log is intact ({entries} entries) and the ballots match it.")
    elif not check.intact:
        text = _("{ref}: the vote log is BROKEN at entry {entry}: a record was changed or "
                 "removed.")
    else:
        text = _("{ref}: the ballots do NOT match the vote log: a ballot was changed outside "
                 "the bot.")
    await update.effective_message.reply_text(text.format(
        ref=poll.ref, entries=check.entries, entry=check.broken_at))


@moderator_only
async def export_poll(update: Update, context: YishiContext) -> None:
    """/export P-3 (moderators): the minutes as CSV and XLSX, sent in private.
    /export reports: the building's issue reports (see handlers/reports.py)."""
    if (context.args or [""])[0].lower() == "reports":
        assert update.effective_chat is not None and update.effective_message is not None
        if update.effective_user is None or update.effective_message.sender_chat is not None:
            _ = await chat_translator(update, context)
            await update.effective_message.reply_text(_("Send /export as yourself: the "
                                                        "minutes go to you in private."))
            return
        await export_reports(update, context,
                             await ensure_community(context, update.effective_chat),
                             period=(context.args or [])[1:2])
        return
    found = await _poll_from_args(update, context)
    if found is None:
        return
    poll, community = found
    user = update.effective_user
    _ = translator(community.language)
    if user is None or update.effective_message.sender_chat is not None:
        await update.effective_message.reply_text(_("Send /export as yourself: the minutes go "
                                                    "to you in private."))
        return
    summary, table = await _minutes(context.application, poll, community, _)
    try:
        await context.bot.send_document(user.id, csv_bytes(summary, table),
                                        filename=f"{poll.ref}.csv")
        await context.bot.send_document(user.id, xlsx_bytes(summary, table),
                                        filename=f"{poll.ref}.xlsx")
    except Forbidden:
        await update.effective_message.reply_text(_("I can only send the minutes in private. "
                                                    "Start a chat with me, then send /export "
                                                    "again."))
        return
    await record_audit(context, community, update, "poll.export", poll=poll.id)
    await update.effective_message.reply_text(_("I sent you the minutes of {ref} in private.")
                                              .format(ref=poll.ref))


async def _minutes(app: YishiApp, poll: Poll, community: Community,
                   _: Translator) -> tuple[list[list[str]], list[list[str]]]:
    result, meaning, figures = await _count_now(app, poll)
    summary = [
        [_("Poll"), f"{poll.ref} {poll.question}"],
        [_("Group"), community.title],
        [_("Options"), " / ".join(poll.options)],
        [_("Deadline"), _local(poll.deadline, community)],
        *([re.split(r"[:：]\s*", line, maxsplit=1)
           for line in _describe(_settings_of(poll), _)]),
        [_("Turnout"), turnout_text(figures, _)],
        *[[option, f"{result.votes[i]} / {_weight(result.weights[i], poll)}"]
          for i, option in enumerate(poll.options)],
        [_("Status"), poll.status.value],
    ]
    if poll.status is PollStatus.CLOSED:
        summary.append([_("Verdict"), verdict_text(poll, meaning, _)])
    if poll.secret:
        # Who took part, never what they chose.
        async with app.bot_data.services.db.transaction() as conn:
            took_part = await people.names(conn, await store.participants(conn, poll.id))
        table = [[_("Took part (secret ballot)")],
                 *[[person.name] for person in took_part.values()]]
        return summary, table
    async with app.bot_data.services.db.transaction() as conn:
        rows = await store.ballot_rows(conn, poll.id)
        named = await people.names(conn, [r["user_id"] for r in rows if r["user_id"]])
        roster = await residents.households(conn, poll.community_id)
    units_by_id = {h.unit_id: h for h in roster}
    table = [[_("Unit"), _("Voter"), _("Choice"), _("Entered by a moderator"), _("Time")]]
    for row in rows:
        unit = units_by_id.get(row["unit_id"])
        person = named.get(row["user_id"]) if row["user_id"] else None
        table.append([unit.address.code if unit else "",
                      person.name if person else "",
                      " / ".join(poll.options[i] for i in row["choice"]),
                      _("yes") if row["proxy_by"] else "",
                      _local(row["at"], community)])
    return summary, table


# --- proxy votes ------------------------------------------------------------------------------


async def ask_proxy_unit(update: Update, context: YishiContext) -> int:
    """Proxy vote: a moderator records a household's paper or phone vote."""
    found = await _managed(update, context)
    if found is None:
        return ConversationHandler.END
    poll, _community_ = found
    _ = await person_translator(update, context)
    if not poll.counts_units or poll.multiple or poll.secret:
        await update.callback_query.answer(_("Proxy votes are for public, single-choice polls "
                                             "counted by household."), show_alert=True)
        return ConversationHandler.END
    context.user_data["poll_proxy"] = {"poll": poll.id}
    await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Which household voted on paper or by phone for {ref}? Type its unit, e.g. 3-2-501. "
          "/cancel to stop.").format(ref=poll.ref))
    return PROXY_UNIT


async def proxy_unit_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    draft = context.user_data.get("poll_proxy") or {}
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
        roster = await residents.households(conn, poll.community_id) if poll else []
    address = UnitAddress.parse(message.text)
    household = next((h for h in roster if address and h.address == address), None)
    if poll is None or poll.status is not PollStatus.OPEN:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    if household is None or not poll.scope.covers(household) or (
            poll.audience is Audience.OWNERS and not household.owners):
        await message.reply_text(_("{unit} is not a household that votes in {ref}. Type "
                                   "another unit, or /cancel.").format(
            unit=html.escape(message.text.strip()[:20]), ref=poll.ref))
        return PROXY_UNIT
    draft["unit"] = household.unit_id
    buttons = [[InlineKeyboardButton(option, callback_data=f"pp:{index}")]
               for index, option in enumerate(poll.options)]
    await message.reply_text(_("What did {unit} choose?").format(unit=household.address.code),
                             reply_markup=InlineKeyboardMarkup(buttons))
    return PROXY_OPTION


async def proxy_option(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    draft = context.user_data.get("poll_proxy") or {}
    raw = (query.data or "").split(":")[-1]
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
    community = await _community(poll.community_id, context) if poll else None
    _ = await person_translator(update, context)
    # A secret poll takes no paper ballots (ask_proxy_unit says so): its ballots name no
    # household, so one entered for a unit could not replace the unit's own.
    if poll is None or community is None or poll.status is not PollStatus.OPEN \
            or poll.secret or "unit" not in draft:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return ConversationHandler.END
    if raw == "confirm":
        option = draft.get("option")
    elif raw.isdigit() and int(raw) < len(poll.options):
        option = int(raw)
    else:
        await refuse(update, context, N_("This button is out of date."))
        return PROXY_OPTION
    unit_id = draft["unit"]
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        own = (await store.household_voters(conn, poll.id)).get(unit_id)
        if own is not None and raw != "confirm":
            replace = None
        else:
            replace = own
            if own is not None:  # confirmed: the paper vote replaces the household's own
                await store.withdraw(conn, poll_id=poll.id, voter_key=f"u:{own}", now=now)
            await store.cast(conn, poll_id=poll.id, voter_key=f"p:{unit_id}", user_id=None,
                             unit_id=unit_id, choice=[option], proxy_by=user.id, now=now)
    if own is not None and raw != "confirm":
        draft["option"] = option
        await query.answer()
        await query.edit_message_text(
            _("This household already voted itself. Replace its vote with “{option}”?").format(
                option=html.escape(poll.options[option])),
            reply_markup=InlineKeyboardMarkup([[
                InlineKeyboardButton(_("Yes, replace it"), callback_data="pp:confirm")]]))
        return PROXY_OPTION
    context.user_data.pop("poll_proxy", None)
    await record_audit(context, community, update, "poll.proxy", poll=poll.id, unit=unit_id,
                       replaced=replace is not None)
    await query.answer(_("Recorded."))
    await query.edit_message_text(_("Recorded for {ref}: {choice} (entered by you, marked as a "
                                    "proxy vote).").format(
        ref=poll.ref, choice=html.escape(poll.options[option])))
    schedule_refresh(context.application, poll.id)
    return ConversationHandler.END


def register(app: YishiApp) -> None:
    app.bot_data.services.votes = VoteDesk(app.bot_data.services)
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("poll", poll_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="poll", command="poll", start=poll_command,
        from_link=poll_from_link, link="poll",
        states={
            QUESTION: [CallbackQueryHandler(group_button, pattern=r"^pc:g:"),
                       MessageHandler(typed, question_typed)],
            OPTIONS: [CallbackQueryHandler(options_preset, pattern=r"^pc:o:yna$"),
                      MessageHandler(typed, options_typed)],
            DEADLINE: [CallbackQueryHandler(deadline_button, pattern=r"^pc:d:"),
                       MessageHandler(typed, deadline_typed)],
            PREVIEW: [CallbackQueryHandler(setting_button, pattern=r"^pc:s:"),
                      CallbackQueryHandler(publish, pattern=r"^pc:go$"),
                      CallbackQueryHandler(edit_question, pattern=r"^pc:e$"),
                      CallbackQueryHandler(cancel_draft, pattern=r"^pc:x$")],
            SCOPE: [MessageHandler(typed, scope_typed)],
        },
    ))
    app.add_handler(flow(
        app, name="poll_proxy", command="polls",
        entry_points=[CallbackQueryHandler(ask_proxy_unit, pattern=r"^pm:\d+:proxy$")],
        states={PROXY_UNIT: [MessageHandler(typed, proxy_unit_typed)],
                PROXY_OPTION: [CallbackQueryHandler(proxy_option, pattern=r"^pp:")]},
    ))
    app.add_handler(flow(
        app, name="poll_cancel", command="polls",
        entry_points=[CallbackQueryHandler(ask_cancel_reason, pattern=r"^pm:\d+:cancel$")],
        states={CANCEL_REASON: [MessageHandler(typed, cancel_reason_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(vote_first, pattern=r"^v:"), group=VOTE_GROUP)
    app.add_handler(CallbackQueryHandler(close_now, pattern=r"^pm:\d+:close$"))
    app.add_handler(CallbackQueryHandler(extend, pattern=r"^pm:\d+:extend$"))
    app.add_handler(CallbackQueryHandler(stale_poll_button, pattern=r"^(pc|pm|pp):"))
    app.add_handler(CommandHandler("polls", list_polls, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("audit", audit_poll, filters=F.ChatType.GROUPS))
    app.add_handler(CommandHandler("export", export_poll, filters=F.ChatType.GROUPS))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(CLOSE, close_due)
    scheduler.on(RESULT, announce_result)
    scheduler.on(REMIND, remind)
    app.bot_data.services.outbox.on_sent(POSTED, _posted)


async def stale_poll_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /poll to start again."))
