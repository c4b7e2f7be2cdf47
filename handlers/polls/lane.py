"""Vote presses handled as they are fetched (bot/inbox.py's lanes).

In a burst, a press is recorded in the transaction that writes the rest of its getUpdates
batch down, before the batch is confirmed to Telegram, and answered right after: no inbox
row of its own, and none of PTB's objects or dispatch. The rules are the vote desk's, as
for a press handled the usual way (handlers/polls/votes.py), and so are the answers. A
press the desk could not record (the database refused the batch) goes the usual way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from bot.context import YishiApp
from bot.i18n import normalize_language, translator
from bot.inbox import WriteAlso
from bot.sending import answering
from handlers.polls import callbacks
from handlers.polls.ballots import Press, Recorded, VoteDesk
from handlers.polls.lifecycle import schedule_refresh
from handlers.polls.votes import answer_for, changed

log = logging.getLogger(__name__)


class VoteLane:
    prefix = callbacks.VOTE.prefix + ":"

    def __init__(self, app: YishiApp, desk: VoteDesk) -> None:
        self._app = app
        self._desk = desk
        self._answers: set[asyncio.Task[None]] = set()

    def accepts(self, item: dict[str, Any]) -> tuple[int, int] | None:
        query = item.get("callback_query")
        if not isinstance(query, dict) or not isinstance(query.get("id"), str):
            return None
        message, user = query.get("message"), query.get("from")
        chat = message.get("chat") if isinstance(message, dict) else None
        if not isinstance(chat, dict) or not isinstance(user, dict):
            return None
        chat_id, user_id = chat.get("id"), user.get("id")
        if not isinstance(chat_id, int) or not isinstance(user_id, int) \
                or callbacks.VOTE.parse(query.get("data")) is None:
            return None  # a forged button is refused the usual way
        return chat_id, user_id

    async def take(self, items: Sequence[dict[str, Any]], write_also: WriteAlso) -> None:
        arrived = time.monotonic()
        services = self._app.bot_data.services
        presses = []
        for item in items:
            query = item["callback_query"]
            poll_id, option = callbacks.VOTE.parse(query["data"])  # type: ignore[misc]
            presses.append(Press(poll_id=poll_id, option=option, user_id=query["from"]["id"],
                                 chat_id=query["message"]["chat"]["id"],
                                 update_id=item["update_id"]))
        # "Anyone in the group" means in it now (asked of Telegram, kept briefly).
        asks = [p for p in presses if await self._desk.members_only(p.poll_id)]
        if asks:
            members = await asyncio.gather(*(
                services.admins.is_member(self._app.bot, p.chat_id, p.user_id) for p in asks))
            left = {(p.chat_id, p.user_id) for p, member in zip(asks, members, strict=True)
                    if not member}
            presses = [Press(poll_id=p.poll_id, option=p.option, user_id=p.user_id,
                             chat_id=p.chat_id, update_id=p.update_id,
                             is_member=(p.chat_id, p.user_id) not in left) for p in presses]
        results = await self._desk.record_now(presses, write_also)
        # Recorded: from here on nothing may raise (the batch must not be handled twice).
        try:
            # One refresh of each post the batch changed (a hundred presses, one request).
            for poll_id in {r.poll.id for r in results if changed(r)}:  # type: ignore[union-attr]
                schedule_refresh(self._app, poll_id)
        except Exception as exc:
            await self._app.process_error(update=None, error=exc)
        for item, result in zip(items, results, strict=True):
            task = asyncio.create_task(self._answer(item["callback_query"], result, arrived))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

    async def idle(self) -> None:
        while self._answers:
            await asyncio.wait(list(self._answers))

    async def _answer(self, query: dict[str, Any], recorded: Recorded, arrived: float) -> None:
        services = self._app.bot_data.services
        answering(who=query["from"]["id"])
        language = recorded.language or normalize_language(
            query["from"].get("language_code"), services.default_language)
        try:
            text, alert = answer_for(recorded, translator(language))
            await self._app.bot.answer_callback_query(query["id"], text=text,
                                                      show_alert=alert)
        except Exception as exc:
            # As PTB would for an update: the error handler logs it (never the vote).
            await self._app.process_error(update=None, error=exc)
        finally:
            services.metrics.handled(time.monotonic() - arrived)
