"""The preview of a poll being prepared: its settings as buttons, the notice period and
its background, the building or staircase it is limited to."""


from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import YishiContext
from bot.domain.methods import SlotError, read_slots
from bot.domain.poll_drafts import Refusal, Setting
from bot.domain.polls import Audience, Method, Rule, Weighting
from bot.i18n import N_, Translator, translator
from handlers.common import (
    flow_reply,
    person_translator,
    refuse,
)
from handlers.polls import callbacks
from handlers.polls.draft import (
    MATERIAL,
    MATERIAL_TEXT_MAX,
    PREVIEW,
    SCOPE,
    _area_gaps,
    _draft,
    _notice_choices,
    _settings,
    _timing,
    _unpublishable,
)
from handlers.polls.lifecycle import _community
from handlers.polls.method_texts import CONSENT_ANSWERS, METHOD_NAMES, amends_line
from handlers.polls.texts import AUDIENCE_NAMES, RULE_NAMES, WEIGHTING_NAMES, _describe

# Why a setting did not change (bot/domain/poll_drafts.py).
REFUSED_SETTINGS = {
    Refusal.FIXED_BY_RULE: N_("Under a Civil Code rule only owners vote, one ballot per "
                              "household, weighed by floor area, with one answer each. To "
                              "change this, choose another rule first."),
    Refusal.NEEDS_YES_NO: N_("The Civil Code rules need the Yes / No / Abstain answers."),
    Refusal.FIXED_BY_METHOD: N_("This way of deciding has its own rule and its own ballot. "
                                "To change this, choose “one choice” as the way of deciding "
                                "first."),
}
# Consent asks one thing of each voter; the answers are these, in the group's language.


async def _preview(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    community = await _community(draft["community"], context)
    assert community is not None
    lines = [_("<b>Preview</b> for {group}").format(group=html.escape(community.title)), "",
             f"<b>{html.escape(draft['question'])}</b>",
             *([amends_line(draft["amends_ref"], _)] if draft.get("amends_ref") else []),
             *(f"• {html.escape(o)}" for o in draft["options"]), "",
             *_timing(draft, community, context.services.clock.now(), _),
             _("In short: {audience}, {weighting}; {rule}.").format(
                 audience=_(AUDIENCE_NAMES[Audience(draft["audience"])]),
                 weighting=_(WEIGHTING_NAMES[Weighting(draft["weighting"])]),
                 rule=_(RULE_NAMES[Rule(draft["rule"])])),
             *_describe(draft, _), "",
             *await _unpublishable(context, draft, _),
             *await _area_gaps(context, draft, _),
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
                              callback_data=callbacks.SETTING.data("secret")),
         InlineKeyboardButton(_("Way of deciding"),
                              callback_data=callbacks.SETTING.data("method"))],
        [InlineKeyboardButton(_("Notice period"), callback_data=callbacks.SETTING.data("notice")),
         InlineKeyboardButton(_("Background for the notice"),
                              callback_data=callbacks.SETTING.data("material"))],
        [InlineKeyboardButton(_("Publish"), callback_data=callbacks.PUBLISH.data()),
         InlineKeyboardButton(_("Edit the question"), callback_data=callbacks.EDIT.data()),
         InlineKeyboardButton(_("Cancel"), callback_data=callbacks.DISCARD.data())],
    ])
    await flow_reply(update, "\n".join(lines), buttons)
    return PREVIEW


async def setting_button(update: Update, context: YishiContext) -> int:
    """A setting of the preview pressed: its choices (or, for the notice, the background
    and the scope, what to type)."""
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
        return await _show_notice_choices(update, context)
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
    setting = Setting(pressed[0])
    if setting in current.fixed():
        await query.answer(_(REFUSED_SETTINGS[current.refusal(setting)]), show_alert=True)
        return PREVIEW
    return await _show_choices(update, context, setting)


# What each setting's chooser asks.
QUESTIONS = {
    Setting.AUDIENCE: N_("Who votes?"),
    Setting.WEIGHTING: N_("How are the votes counted?"),
    Setting.RULE: N_("What decides the outcome?"),
    Setting.MULTIPLE: N_("How many answers may each voter choose?"),
    Setting.LIVE: N_("When are the results shown?"),
    Setting.SECRET: N_("Public or secret ballot?"),
    Setting.METHOD: N_("How do the voters decide?"),
}


def _choice_label(setting: Setting, code: str, _: Translator,
                  method: Method = Method.CHOICE) -> str:
    if setting is Setting.AUDIENCE:
        return _(AUDIENCE_NAMES[Audience(code)])
    if setting is Setting.WEIGHTING:
        return _(WEIGHTING_NAMES[Weighting(code)])
    if setting is Setting.RULE:
        return _(RULE_NAMES[Rule(code)])
    if setting is Setting.METHOD:
        return _(METHOD_NAMES[Method(code)])
    if setting is Setting.MULTIPLE and method is Method.DOTS:
        return _("{count} dots each").format(count=code)
    if setting is Setting.MULTIPLE:
        return _("one answer") if code == "1" else _("up to {count} answers").format(
            count=code)
    if setting is Setting.LIVE:
        return _("live, as votes come in") if code == "on" else _("after the poll closes")
    return _("secret") if code == "on" else _("public")


async def _show_choices(update: Update, context: YishiContext, setting: Setting) -> int:
    """A setting's choices, the current one marked, and the way back."""
    _ = await person_translator(update, context)
    current = _settings(_draft(context))
    assert current is not None
    now = current.current(setting)
    rows = [[InlineKeyboardButton(("✓ " if code == now else "")
                                  + _choice_label(setting, code, _, current.method),
                                  callback_data=callbacks.CHOOSE.data(setting.value, code))]
            for code in current.choices(setting)]
    rows.append([InlineKeyboardButton(_("Back to the preview"),
                                      callback_data=callbacks.CHOOSE.data(setting.value, "back"))])
    await flow_reply(update, _(QUESTIONS[setting]), InlineKeyboardMarkup(rows))
    return PREVIEW


async def _show_notice_choices(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    now = _draft(context).get("notice_days", 0)
    rows = [[InlineKeyboardButton(
        ("✓ " if days == now else "") + (_("none: voting opens at once") if days == 0 else
                                         _("{days} days before voting").format(days=days)),
        callback_data=callbacks.CHOOSE.data("notice", str(days)))]
        for days in _notice_choices(context)]
    rows.append([InlineKeyboardButton(_("Back to the preview"),
                                      callback_data=callbacks.CHOOSE.data("notice", "back"))])
    await flow_reply(update, _("How long before voting opens is the poll announced, with its "
                               "background (公示)?"), InlineKeyboardMarkup(rows))
    return PREVIEW


async def choice_button(update: Update, context: YishiContext) -> int:
    """One of a setting's choices pressed: the preview again with it; the rules of what
    goes together are the domain's (bot/domain/poll_drafts.py)."""
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    pressed = callbacks.CHOOSE.parse(query.data)
    if pressed is not None and pressed[0] == "notice":
        offered = [str(days) for days in _notice_choices(context)]
        if pressed[1] in offered:
            draft["notice_days"] = int(pressed[1])
        elif pressed[1] != "back":
            await refuse(update, context, N_("This button is out of date."))
            return PREVIEW
        return await _preview(update, context)
    current = _settings(draft)
    setting = Setting(pressed[0]) if pressed else None
    if pressed is None or current is None or setting is None \
            or pressed[1] not in (*current.choices(setting), "back"):
        await refuse(update, context, N_("This button is out of date."))
        return PREVIEW
    if pressed[1] == "back":
        return await _preview(update, context)
    changed, refusal = current.choose(setting, pressed[1])
    if refusal is not None:
        _ = await person_translator(update, context)
        await query.answer(_(REFUSED_SETTINGS[refusal]), show_alert=True)
        return PREVIEW
    if setting is Setting.METHOD and not await _answers_for(update, context, draft,
                                                           changed.method):
        return PREVIEW
    draft.update(audience=changed.audience.value, weighting=changed.weighting.value,
                 rule=changed.rule.value, multiple=changed.multiple,
                 max_choices=changed.max_choices, live=changed.live, secret=changed.secret,
                 method=changed.method.value)
    return await _preview(update, context)


async def _answers_for(update: Update, context: YishiContext, draft: dict[str, Any],
                       method: Method) -> bool:
    """The answers a way of deciding takes: consent its own two (the typed ones are kept
    for another way); a meeting time, dates and times, each read in the group's zone and
    kept as "YYYY-MM-DD HH:MM". False (and the moderator told why) if they cannot be."""
    typed: list[str] = list(draft.get("typed_options") or draft["options"])
    community = await _community(int(draft["community"]), context)
    assert community is not None
    if method is Method.CONSENT:
        group_ = translator(community.language)
        draft["typed_options"] = typed
        draft["options"] = [group_(answer) for answer in CONSENT_ANSWERS]
        return True
    if method is Method.TIME:
        try:
            slots = read_slots(typed, context.services.clock.now(), community.timezone)
        except SlotError as bad:
            _ = await person_translator(update, context)
            await update.callback_query.answer(_(
                "For a meeting time each answer must be a different date and time, like "
                "2026-12-12 19:00 or “Saturday 7pm”; “{option}” is not one. Edit the "
                "question to type the times.").format(option=bad.answer[:60]),
                show_alert=True)
            return False
        draft["typed_options"] = typed
        draft["options"] = slots
        return True
    if draft.get("typed_options"):
        draft["options"] = draft.pop("typed_options")
    return True


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
