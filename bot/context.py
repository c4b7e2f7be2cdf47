"""The callback context every handler receives, with typed access to the services."""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import BotData, Services


class YishiContext(CallbackContext[ExtBot[None], dict, dict, BotData]):
    # Set while handling the update in which someone asked to be forgotten, so the
    # bookkeeping that runs after every update does not write them back in.
    person_forgotten: bool = False

    @property
    def services(self) -> Services:
        return self.bot_data.services


YishiApp = Application[ExtBot[None], YishiContext, dict, dict, BotData, object]
