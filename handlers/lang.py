"""/lang: a person chooses the language the bot uses with them in private."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.buttons import Choice, button
from bot.context import YishiApp, YishiContext
from bot.i18n import LANGUAGES, N_, translator
from handlers.common import note_person, person_language, refuse
from storage import people

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
LANGUAGE = button("lang", Choice(*LANGUAGES))


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=LANGUAGE.data(code))
        for code in LANGUAGES
    ]])


async def _set(context: YishiContext, user: User, language: str) -> None:
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, now)
        await people.set_language(conn, user.id, language, now)


async def lang_command(update: Update, context: YishiContext) -> None:
    """/lang [zh|en]: switch at once, or offer the choice as buttons."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    wanted = (context.args[0].lower() if context.args else "").strip()
    if wanted in LANGUAGES:
        await _set(context, user, wanted)
        _ = translator(wanted)
        await message.reply_text(_("I will speak English with you from now on.")
                                 + "\n" + _("A group speaks its own language; moderators "
                                            "change it with /settings."))
        return
    _ = translator(await person_language(context, user))
    text = _("Choose your language:")
    if wanted:
        text = _("I speak 中文 (zh) and English (en).") + "\n" + text
    await message.reply_text(text, reply_markup=_keyboard())


async def lang_button(update: Update, context: YishiContext) -> None:
    """A language button: only the choice, checked, for the person who pressed it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    pressed = LANGUAGE.parse(query.data)
    code = pressed[0] if pressed else ""
    if code not in LANGUAGES:
        await refuse(update, context, N_("This button is out of date."))
        return
    await _set(context, user, code)
    _ = translator(code)
    done = _("I will speak English with you from now on.")
    await query.answer(done)
    if query.message is not None and query.message.chat.type == ChatType.PRIVATE:
        await query.edit_message_text(done)


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("lang", lang_command))
    app.add_handler(CallbackQueryHandler(lang_button, pattern=LANGUAGE.matches))
