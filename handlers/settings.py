"""/settings: moderators change the group's language, time zone and quiet hours."""

from __future__ import annotations

import html
import re
import secrets
import string
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.buttons import Choice, Id, Word, button
from bot.context import YishiApp, YishiContext
from bot.domain.models import Community, Role
from bot.domain.quiet_hours import QuietHours
from bot.domain.surveys import MONTHS_ALLOWED, every
from bot.i18n import LANGUAGES, N_, Translator, translator
from handlers.common import (
    ensure_community,
    is_group,
    is_not_modified,
    moderator_only,
    person_language,
    record_audit,
    refuse,
    user_role,
)
from handlers.lang import LANGUAGE_NAMES
from handlers.surveys.manage import arm as arm_surveys
from storage import communities

# Buttons offer the usual choices; anything else is typed: /settings timezone Europe/Berlin.
TIMEZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore",
             "Europe/London", "America/New_York", "America/Los_Angeles", "Australia/Sydney")
THRESHOLD_MAX = 1000  # supporters at most for /settings threshold
OBJECTION_MAX = 60  # days at most for /settings objection
QUIET_PRESETS = ("off", "22:00-07:00", "22:00-07:30", "23:00-07:00", "21:30-08:00")
# A panel's button: set:<community>:<field>:<value>.
SETTING = button("set", Id, Choice("lang", "tz", "qh", "lb", "mc", "hc"), Word)
HANDLERS_CODE = "h:"
_LINK = re.compile(r"^(\d{1,12})-([a-z0-9]{8})$")


def _render(community: Community, _: Translator, now_local: str,
            objection_default: int) -> str:
    quiet = str(community.quiet_hours) if community.quiet_hours.enabled else _("off")
    return "\n".join([
        _("<b>Settings for {group}</b>").format(group=html.escape(community.title)),
        _("Language: {language}").format(language=LANGUAGE_NAMES[community.language]),
        _("Time zone: {zone} (it is {time} there now)").format(zone=community.timezone,
                                                               time=now_local),
        _("Quiet hours: {window}").format(window=quiet),
        _("Leaderboard (/top): {state}").format(
            state=_("on") if community.leaderboard else _("off")),
        _("Support threshold (a topic goes to the moderators at once): {state}").format(
            state=_("{count} supporters").format(count=community.support_threshold)
            if community.support_threshold else _("off")),
        _("Satisfaction survey (/survey): {state}").format(
            state=_("every {months} months").format(months=every(community.survey_months))
            if every(community.survey_months) else _("off")),
        _("Decisions posted for objection (公示): {days} days unless said").format(
            days=community.objection_days or objection_default),
        _("Moderators' chat for join requests: {state}").format(
            state=_("linked") if community.moderators_chat_id else _("not linked")),
        _("Handlers' chat for new reports: {state}").format(
            state=_("linked") if community.handlers_chat_id else _("not linked")),
        "",
        _("In quiet hours I send nothing on my own; what a moderator sends by hand still goes "
          "out. Press a button, or type e.g. /settings timezone Europe/Berlin or "
          "/settings quiet 23:00-07:00."),
    ])


def _keyboard(community: Community, _: Translator) -> InlineKeyboardMarkup:
    def data(field: str, value: object) -> str:
        return SETTING.data(community.id, field, str(value))

    rows = [[InlineKeyboardButton(("✓ " if code == community.language else "")
                                  + LANGUAGE_NAMES[code], callback_data=data("lang", code))
             for code in LANGUAGES]]
    zones = [InlineKeyboardButton(("✓ " if zone == community.timezone else "") + zone,
                                  callback_data=data("tz", i))
             for i, zone in enumerate(TIMEZONES)]
    rows += [zones[i:i + 2] for i in range(0, len(zones), 2)]
    current = str(community.quiet_hours)
    rows.append([InlineKeyboardButton(("✓ " if preset == current else "") + preset,
                                      callback_data=data("qh", i))
                 for i, preset in enumerate(QUIET_PRESETS)])
    rows.append([InlineKeyboardButton(("✓ " if community.leaderboard == on else "") + label,
                                      callback_data=data("lb", "on" if on else "off"))
                 for on, label in ((True, _("Leaderboard on")), (False, _("Leaderboard off")))])
    link = [InlineKeyboardButton(_("Link a moderators' chat"),
                                 callback_data=data("mc", "link"))]
    if community.moderators_chat_id:
        link.append(InlineKeyboardButton(_("Unlink it"), callback_data=data("mc", "off")))
    rows.append(link)
    link = [InlineKeyboardButton(_("Link a handlers' chat"), callback_data=data("hc", "link"))]
    if community.handlers_chat_id:
        link.append(InlineKeyboardButton(_("Unlink it"), callback_data=data("hc", "off")))
    rows.append(link)
    return InlineKeyboardMarkup(rows)


def _panel(context: YishiContext, community: Community, _: Translator) -> str:
    return _render(community, _, _local_time(context, community),
                   context.services.settings.decisions.objection_days)


def _local_time(context: YishiContext, community: Community) -> str:
    return f"{context.services.clock.now().astimezone(ZoneInfo(community.timezone)):%H:%M}"


async def _apply(update: Update, context: YishiContext, community: Community, field: str,
                 value: str) -> Community | str:
    """Validate and store one change; returns the changed community or a problem msgid."""
    changes: dict[str, object] = {}
    if field == "lang":
        if value not in LANGUAGES:
            return N_("Please choose zh or en.")
        changes["language"] = value
    elif field == "tz":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return N_("I do not know that time zone. Use a name like Asia/Shanghai.")
        changes["timezone"] = value
    elif field == "lb":
        if value not in ("on", "off"):
            return N_("The leaderboard is either on or off.")
        changes["leaderboard"] = value == "on"
    elif field == "th":
        if value.lower() == "off":
            changes["support_threshold"] = "off"
        elif value.isdigit() and 1 <= int(value) <= THRESHOLD_MAX:
            changes["support_threshold"] = int(value)
        else:
            return N_("The support threshold is a number of supporters from 1 to 1000, or "
                      "off.")
    elif field == "ob":
        if value.isdigit() and 1 <= int(value) <= OBJECTION_MAX:
            changes["objection_days"] = int(value)
        else:
            return N_("A decision is posted for objection for 1 to 60 days.")
    elif field == "sv":
        if value.lower() == "off":
            changes["survey_months"] = 0
        elif value.isdigit() and int(value) in MONTHS_ALLOWED:
            changes["survey_months"] = int(value)
        else:
            return N_("Survey rounds come every 1, 2, 3, 4, 6 or 12 months, or are off.")
    else:
        try:
            changes["quiet_hours"] = QuietHours.parse(value)
        except ValueError:
            return N_("Quiet hours look like 22:00-07:30, or off.")
    services = context.services
    async with services.db.transaction() as conn:
        changed = await communities.update_settings(conn, community.id, services.clock.now(),
                                                    **changes)
    await record_audit(context, community, update, "settings.change", field=field,
                       old=_current(community, field), new=_current(changed, field))
    if field == "sv":
        await arm_surveys(context.application, changed)
    if field == "tz" and changed.timezone != community.timezone:
        # What falls at a local hour (the weekly summary, the roundup, repeating
        # announcements) is planned again for the new zone.
        for replan in services.zone_changed:
            await replan(context.application, changed)
    return changed


def _current(community: Community, field: str) -> str:
    return {"lang": community.language, "tz": community.timezone,
            "qh": str(community.quiet_hours),
            "lb": "on" if community.leaderboard else "off",
            "th": str(community.support_threshold or "off"),
            "sv": str(every(community.survey_months) or "off"),
            "ob": str(community.objection_days or "default")}[field]


_TYPED_FIELDS = {"language": "lang", "lang": "lang", "timezone": "tz", "tz": "tz",
                 "quiet": "qh", "quiet_hours": "qh", "leaderboard": "lb", "threshold": "th",
                 "survey": "sv", "objection": "ob"}


async def settings_command(update: Update, context: YishiContext) -> None:
    """/settings in a group; /settings link <code> in a moderators' chat."""
    args = context.args or []
    if len(args) == 2 and args[0].lower() == "link" and is_group(update.effective_chat):
        await link_moderators_chat(update, context, args[1])
        return
    await settings_for_group(update, context)


@moderator_only
async def settings_for_group(update: Update, context: YishiContext) -> None:
    """/settings shows the panel; /settings <what> <value> changes one thing directly."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    community = await ensure_community(context, chat)
    args = context.args or []
    if args:
        field = _TYPED_FIELDS.get(args[0].lower())
        _ = translator(community.language)
        if field is None or len(args) != 2:
            await message.reply_text(_("Usage: /settings language zh|en, /settings timezone "
                                       "Asia/Shanghai, /settings quiet 22:00-07:30|off, "
                                       "/settings leaderboard on|off, /settings threshold "
                                       "20|off, /settings survey 3|off, /settings objection 7"))
            return
        result = await _apply(update, context, community, field, args[1])
        if isinstance(result, str):
            await message.reply_text(_(result))
            return
        community = result
    _ = translator(community.language)
    await message.reply_text(_panel(context, community, _),
                             reply_markup=_keyboard(community, _))


@moderator_only
async def settings_button(update: Update, context: YishiContext) -> None:
    """A settings button: checked against the group it was pressed in, then applied."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    community = await ensure_community(context, chat)
    pressed = SETTING.parse(query.data)
    value = _button_value(pressed[1], pressed[2]) if pressed else None
    if pressed is None or pressed[0] != community.id or value is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    field = pressed[1]
    if field in ("mc", "hc"):
        await _linked_chat_button(update, context, community, field, value)
        return
    if _current(community, field) == value:
        _ = translator(community.language)
        await query.answer(_("That is already the setting."))
        return
    result = await _apply(update, context, community, field, value)
    if isinstance(result, str):
        await refuse(update, context, result)
        return
    _ = translator(result.language)
    await query.answer(_("Saved."))
    try:
        await query.edit_message_text(_panel(context, result, _),
                                      reply_markup=_keyboard(result, _))
    except BadRequest as exc:
        # The panel may be too old to edit (48 h) or gone; the change itself is saved.
        if not is_not_modified(exc):
            await context.bot.send_message(chat.id, _panel(context, result, _),
                                           reply_markup=_keyboard(result, _))


async def _linked_chat_button(update: Update, context: YishiContext, community: Community,
                              field: str, value: str) -> None:
    """A moderators' (mc) or handlers' (hc) chat. Link: tell only the presser a one-time
    code. Unlink: at once."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    services = context.services
    handlers_chat = field == "hc"
    _ = translator(await person_language(context, update.effective_user))
    if value == "link":
        code = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _i in range(8))
        async with services.db.transaction() as conn:
            # Which chat the code links is kept with it, not in what the user types.
            await communities.set_link_code(conn, community.id,
                                            f"{HANDLERS_CODE}{code}" if handlers_chat else code)
        # An alert is seen only by who pressed: the code never shows in the group.
        text = _("Add me to your handlers' chat, then send there: /settings link {code}") \
            if handlers_chat else _("Add me to your moderators' chat, then send there: "
                                    "/settings link {code}")
        await query.answer(text.format(code=f"{community.id}-{code}"), show_alert=True)
        return
    linked = community.handlers_chat_id if handlers_chat else community.moderators_chat_id
    if not linked:
        await query.answer(_("That is already the setting."))
        return
    unlink = communities.link_handlers_chat if handlers_chat \
        else communities.link_moderators_chat
    async with services.db.transaction() as conn:
        await unlink(conn, community.id, None, services.clock.now())
        changed = await communities.by_id(conn, community.id)
    assert changed is not None
    await record_audit(context, community, update,
                       "handlers_chat.unlink" if handlers_chat else "moderators_chat.unlink")
    await query.answer(_("Saved."))
    _ = translator(changed.language)
    await query.edit_message_text(_panel(context, changed, _),
                                  reply_markup=_keyboard(changed, _))


async def link_moderators_chat(update: Update, context: YishiContext, code: str) -> None:
    """/settings link <community>-<code>, sent in the moderators' (or handlers') own chat."""
    message, chat, user = update.effective_message, update.effective_chat, \
        update.effective_user
    assert message is not None and chat is not None
    services = context.services
    match = _LINK.match(code.strip().lower())
    async with services.db.transaction() as conn:
        target = await communities.by_id(conn, int(match.group(1))) if match else None
        expected = await communities.link_code(conn, target.id) if target else None
    _ = translator(target.language if target else services.default_language)
    handlers_chat = expected is not None and expected.startswith(HANDLERS_CODE)
    expected = expected.removeprefix(HANDLERS_CODE) if expected else None
    if target is None or expected is None or match is None \
            or not secrets.compare_digest(expected, match.group(2)):
        await message.reply_text(_("That link code is not valid. Press “Link a moderators' "
                                   "chat” in the building group's /settings for a new one."))
        return
    if chat.id == target.chat_id:
        await message.reply_text(_("Send this in the moderators' own chat, not in the "
                                   "building's group."))
        return
    if user is None or message.sender_chat is not None \
            or await user_role(context, target, user.id) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. "
                                   "Nothing was changed."))
        return
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # The bot made this chat a community of its own when it joined; it is not one.
        await communities.deactivate(conn, chat.id, now)
        if handlers_chat:
            await communities.link_handlers_chat(conn, target.id, chat.id, now)
        else:
            await communities.link_moderators_chat(conn, target.id, chat.id, now)
    await record_audit(context, target, update,
                       "handlers_chat.link" if handlers_chat else "moderators_chat.link",
                       chat=chat.id)
    if handlers_chat:
        await message.reply_text(_("This chat now receives the new reports of {group}. "
                                   "Handlers answer them with the buttons here.").format(
            group=html.escape(target.title)))
        return
    await message.reply_text(_("This chat now receives the join requests of {group}.").format(
        group=html.escape(target.title)))


def _button_value(field: str, raw: str) -> str | None:
    if field == "lang":
        return raw if raw in LANGUAGES else None
    if field in ("lb", "mc", "hc"):
        allowed = ("on", "off") if field == "lb" else ("link", "off")
        return raw if raw in allowed else None
    options = TIMEZONES if field == "tz" else QUIET_PRESETS
    if not raw.isdigit() or int(raw) >= len(options):
        return None
    value = options[int(raw)]
    return str(QuietHours.parse(value)) if field == "qh" else value


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("settings", settings_command))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=SETTING.matches))
