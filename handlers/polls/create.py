"""/poll: a moderator prepares a poll in private (question, options, deadline, who votes,
how votes weigh, the decision rule) and publishes it to the group."""

from __future__ import annotations

import html
import secrets
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ConversationHandler,
)

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, Role
from bot.domain.poll_drafts import PollSettings, Refusal, Setting
from bot.domain.polls import (
    CIVIL_RULES,
    OPEN_AT_LEAST,
    OPEN_AT_MOST,
    OPTIONS_MAX,
    OPTIONS_MIN,
    QUESTION_MAX,
    Audience,
    PollStatus,
    Rule,
    Scope,
    Weighting,
    deadline_refusal,
    missing_areas,
)
from bot.i18n import N_, Translator, translator
from handlers.common import (
    ensure_community,
    flow_reply,
    moderated_by,
    moderator_only,
    person_translator,
    private_link,
    record_audit,
    refuse,
    user_role,
)
from handlers.polls import callbacks
from handlers.polls.lifecycle import _arm, _community, _post, announce
from handlers.polls.texts import YES_NO_ABSTAIN, _describe, _local, _management_buttons
from storage import outbox, residents
from storage import polls as store

QUESTION, OPTIONS, DEADLINE, PREVIEW, SCOPE, MATERIAL = range(20, 26)


DRAFT = "poll"
MISSING_SHOWN = 20  # units without an area listed in the preview
MATERIAL_TEXT_MAX = 3000  # the notice's background text, within one message


PREFILL = "poll_prefill"
# Why a setting did not change (bot/domain/poll_drafts.py).
REFUSED_SETTINGS = {
    Refusal.FIXED_BY_RULE: N_("Under a Civil Code rule only owners vote, one ballot per "
                              "household, weighed by floor area, with one answer each. To "
                              "change this, choose another rule first."),
    Refusal.NEEDS_YES_NO: N_("The Civil Code rules need the Yes / No / Abstain answers."),
}


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


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
        [[InlineKeyboardButton(c.title,
                               callback_data=callbacks.CREATE_FOR.data(c.id))] for c in mine]))
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
                         callback_data=callbacks.YES_NO_ABSTAIN.data())]]))
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
    buttons = [InlineKeyboardButton(label, callback_data=callbacks.DEADLINE.data(code))
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
        deadline = parse_deadline(text, context.services.clock.now(), community.timezone,
                                  minimum=OPEN_AT_LEAST, maximum=OPEN_AT_MOST)
    except DeadlineError as exc:
        problem = {"unreadable": _("I could not read that. Type e.g. 3d, 12h, 1w or "
                                   "2026-12-01 20:00."),
                   "too_soon": _("A poll must stay open at least 10 minutes."),
                   "too_far": _("A poll can stay open at most 60 days.")}[exc.code]
        await flow_reply(update, problem)
        return DEADLINE
    draft["deadline"] = deadline.isoformat()
    return await _preview(update, context)


async def _preview(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    community = await _community(draft["community"], context)
    assert community is not None
    lines = [_("<b>Preview</b> for {group}").format(group=html.escape(community.title)), "",
             f"<b>{html.escape(draft['question'])}</b>",
             *(f"• {html.escape(o)}" for o in draft["options"]), "",
             *_timing(draft, community, context.services.clock.now(), _),
             *_describe(draft, _), "",
             *await _unpublishable(context, draft, _),
             _("Change a setting with the buttons, then publish.")]
    buttons = InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Who votes"), callback_data=callbacks.SETTING.data("audience")),
         InlineKeyboardButton(_("Counting"), callback_data=callbacks.SETTING.data("weighting"))],
        [InlineKeyboardButton(_("Rule"), callback_data=callbacks.SETTING.data("rule")),
         InlineKeyboardButton(_("Choices"), callback_data=callbacks.SETTING.data("multiple"))],
        [InlineKeyboardButton(_("Results live/after"),
                              callback_data=callbacks.SETTING.data("live")),
         InlineKeyboardButton(_("Limit to a building"),
                              callback_data=callbacks.SETTING.data("scope"))],
        [InlineKeyboardButton(_("Secret / public ballot"),
                              callback_data=callbacks.SETTING.data("secret"))],
        [InlineKeyboardButton(_("Notice period"), callback_data=callbacks.SETTING.data("notice")),
         InlineKeyboardButton(_("Background for the notice"),
                              callback_data=callbacks.SETTING.data("material"))],
        [InlineKeyboardButton(_("Publish"), callback_data=callbacks.PUBLISH.data()),
         InlineKeyboardButton(_("Edit the question"), callback_data=callbacks.EDIT.data()),
         InlineKeyboardButton(_("Cancel"), callback_data=callbacks.DISCARD.data())],
    ])
    await flow_reply(update, "\n".join(lines), buttons)
    return PREVIEW


def _notice_choices(context: YishiContext) -> list[int]:
    """Notice periods the preview cycles through, in days (0: voting opens at once)."""
    first = context.services.settings.polls.notice_days
    return [0, first, *(days for days in (7, 30) if days != first)]


def _when(draft: dict[str, Any], now: datetime) -> tuple[datetime | None, datetime]:
    """When voting opens (None: at once) and closes. With a notice period, the chosen
    deadline is how long voting runs once it opens."""
    deadline = datetime.fromisoformat(draft["deadline"])
    days = draft.get("notice_days", 0)
    if not days:
        return None, deadline
    opens = now + timedelta(days=days)
    return opens, opens + (deadline - now)


def _timing(draft: dict[str, Any], community: Community, now: datetime,
            _: Translator) -> list[str]:
    opens, closes = _when(draft, now)
    if opens is None:
        return [_("Deadline: {when}").format(when=_local(closes, community))]
    material = draft.get("material") or {}
    kinds = [_("text") if material.get("text") else "",
             _("a photo") if material.get("photo") else "",
             _("a document") if material.get("document") else ""]
    return [_("Notice: announced now, {days} days before voting (公示)").format(
                days=draft["notice_days"]),
            _("Voting opens {opens} and closes {closes}").format(
                opens=_local(opens, community), closes=_local(closes, community)),
            _("Background: {what}").format(what=", ".join(k for k in kinds if k)
                                           or _("none yet"))]


async def material_sent(update: Update, context: YishiContext) -> int:
    """The notice's background: a text, a photo (its caption kept) or a document."""
    message = update.effective_message
    assert message is not None
    draft = _draft(context)
    material = draft.setdefault("material", {})
    if message.photo:
        material["photo"] = message.photo[-1].file_id
        if message.caption:
            material["text"] = message.caption[:MATERIAL_TEXT_MAX]
    elif message.document:
        material["document"] = message.document.file_id
        if message.caption:
            material["text"] = message.caption[:MATERIAL_TEXT_MAX]
    elif message.text and message.text.strip() != "/skip":
        material["text"] = message.text.strip()[:MATERIAL_TEXT_MAX]
    if not draft.get("notice_days"):
        draft["notice_days"] = _notice_choices(context)[1]
    return await _preview(update, context)


async def material_unexpected(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await update.effective_message.reply_text(_(
        "I keep a text, a photo or a document as the notice's background. Send one of them, "
        "or /skip."))
    return MATERIAL


async def _unpublishable(context: YishiContext, draft: dict[str, Any],
                         _: Translator) -> list[str]:
    """Why the draft cannot be published yet: a Civil Code poll needs the area of every
    unit in scope (the total area is the sum of all of them), and at least one unit."""
    if draft.get("rule") not in {r.value for r in CIVIL_RULES}:
        return []
    async with context.services.db.transaction() as conn:
        roster = await residents.households(conn, draft["community"])
    scope = Scope(building=draft.get("scope_building"), staircase=draft.get("scope_staircase"))
    if not any(scope.covers(h) for h in roster):
        return [_("⚠️ A Civil Code poll counts the units on the building's register, and there "
                  "are none in its scope yet. Import the register first (/residents)."), ""]
    missing = missing_areas(roster, scope)
    if not missing:
        return []
    shown = missing[:MISSING_SHOWN]
    lines = [_("⚠️ This poll cannot be published while {count} units in its scope have no "
               "recorded area: the total area, which the quorum is counted against, would be "
               "wrong. Record each one, then press Publish again:").format(count=len(missing)),
             *(f"• {h.address.code}: /residents area {h.address.code} …" for h in shown)]
    if len(missing) > len(shown):
        lines.append(_("… and {count} more (see /residents).").format(
            count=len(missing) - len(shown)))
    return [*lines, ""]


async def setting_button(update: Update, context: YishiContext) -> int:
    """Move one setting in the preview to its next value; the rules of what goes together
    are the domain's (bot/domain/poll_drafts.py)."""
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    pressed = callbacks.SETTING.parse(query.data)
    _ = await person_translator(update, context)
    current = _settings(draft)
    if pressed is None or current is None:
        await refuse(update, context, N_("This button is out of date."))
        return PREVIEW
    if pressed[0] == "notice":
        offered = _notice_choices(context)
        current_days = draft.get("notice_days", 0)
        draft["notice_days"] = offered[(offered.index(current_days) + 1) % len(offered)] \
            if current_days in offered else offered[1]
        return await _preview(update, context)
    if pressed[0] == "material":
        await query.answer()
        await query.message.reply_text(_(
            "Send the background the owners should read before voting: a text, a photo (with "
            "a caption) or a document such as a quote or a plan. /cancel stops the whole "
            "poll; send /skip to keep what there is."))
        return MATERIAL
    if pressed[0] == "scope":
        # A Civil Code poll may be a staircase's own (an elevator for its households).
        await query.answer()
        await query.message.reply_text(_("Type the building (e.g. 3) or building and "
                                         "staircase (e.g. 3-2) the poll is for, or “all”."))
        return SCOPE
    changed, refusal = current.next(Setting(pressed[0]))
    if refusal is not None:
        await query.answer(_(REFUSED_SETTINGS[refusal]), show_alert=True)
        if changed == current:
            return PREVIEW
    draft.update(audience=changed.audience.value, weighting=changed.weighting.value,
                 rule=changed.rule.value, multiple=changed.multiple,
                 max_choices=changed.max_choices, live=changed.live, secret=changed.secret)
    return await _preview(update, context)


def _settings(draft: dict[str, Any]) -> PollSettings | None:
    """The draft's settings, checked together (None if they no longer go together: a
    draft from an older version)."""
    try:
        return PollSettings(
            options=len(draft["options"]), yes_no=bool(draft.get("yes_no")),
            audience=draft["audience"], weighting=draft["weighting"], rule=draft["rule"],
            multiple=draft["multiple"], max_choices=draft["max_choices"], live=draft["live"],
            secret=draft.get("secret", False))
    except (KeyError, ValidationError):
        return None


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
    if deadline_refusal(datetime.fromisoformat(draft["deadline"]), now=now) == "too_soon":
        await flow_reply(update, _("A poll must stay open at least 10 minutes."))
        return ConversationHandler.END
    blocked = await _unpublishable(context, draft, _)
    if blocked:
        # Kept: once the areas are recorded, Publish works from the same preview.
        context.user_data[DRAFT] = draft
        await flow_reply(update, "\n".join(blocked))
        return PREVIEW
    opens, deadline = _when(draft, now)
    async with services.db.transaction() as conn:
        poll = await store.create(
            conn, community_id=community.id, now=now, question=draft["question"],
            options=draft["options"], multiple=draft["multiple"],
            max_choices=draft["max_choices"], deadline=deadline, audience=draft["audience"],
            scope_building=draft.get("scope_building"),
            scope_staircase=draft.get("scope_staircase"), weighting=draft["weighting"],
            rule=draft["rule"], live_results=draft["live"], topic_id=draft.get("topic"),
            created_by=user.id, secret=draft.get("secret", False),
            status=PollStatus.NOTICE if opens else PollStatus.OPEN, opens_at=opens,
            notice=draft.get("material") if opens else None)
        if poll.secret:
            await store.set_key(conn, poll.id, secrets.token_hex(32))
        # Its deadline, its reminders and its post go with it, or not at all; announced,
        # the notice goes now and the rest when voting opens (lifecycle.open_voting).
        if opens is None:
            await _arm(conn, services, poll)
            await outbox.queue(conn, [await _post(conn, poll, community)], now)
        else:
            await announce(conn, services, poll, community)
    services.outbox.kick()
    await record_audit(context, community, update, "poll.create", poll=poll.id)
    if opens is None:
        done = _("{ref} is posted in {group}. It closes {when}.").format(
            ref=poll.ref, group=html.escape(community.title), when=_local(deadline, community))
    else:
        done = _("{ref} is announced in {group} and pinned. Voting opens by itself {opens} "
                 "and closes {when}.").format(
            ref=poll.ref, group=html.escape(community.title), opens=_local(opens, community),
            when=_local(deadline, community))
    await flow_reply(update, done, _management_buttons(poll, _))
    return ConversationHandler.END
