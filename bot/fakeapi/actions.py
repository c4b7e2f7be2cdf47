"""Acting as residents: what people do in Telegram, turned into updates for the bot."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from bot.fakeapi.server import ANONYMOUS_ADMIN_ID, BOT_ID, Call, FakeBotApi

_ids = itertools.count(100_001)


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass(frozen=True)
class Group:
    id: int
    title: str
    type: str = "supergroup"

    def as_chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "title": self.title}


class Telegram:
    """The tests' side of the fake: people, groups and what they do."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    # --- who exists ---------------------------------------------------------------

    def person(self, first_name: str, *, username: str | None = None,
               language_code: str | None = "zh-hans") -> Person:
        person = Person(next(_ids), first_name, username, language_code)
        self.api.users[person.id] = person.as_user()
        return person

    def group(self, title: str, *, kind: str = "supergroup") -> Group:
        group = Group(-1_000_000_000_000 - next(_ids) if kind == "supergroup"
                      else -next(_ids), title, kind)
        self.api.chats[group.id] = group.as_chat()
        return group

    def private_chat(self, person: Person) -> dict[str, Any]:
        chat = {"id": person.id, "type": "private", "first_name": person.first_name}
        if person.username:
            chat["username"] = person.username
        self.api.chats[person.id] = chat
        return chat

    def set_status(self, group: Group, person: Person, status: str) -> None:
        """status: creator, administrator, member, left, kicked."""
        self.api.members[(group.id, person.id)] = status

    async def leave(self, group: Group, person: Person) -> dict[str, Any]:
        """``person`` leaves the group, as Telegram reports it to the group's bots."""
        self.set_status(group, person, "left")
        return await self._push_message(group.as_chat(), person.as_user(),
                                        left_chat_member=person.as_user())

    # --- the bot's membership -----------------------------------------------------

    async def add_bot(self, group: Group, by: Person, *, as_admin: bool = False) -> None:
        if (group.id, by.id) not in self.api.members:
            self.set_status(group, by, "creator")
        await self._bot_status(group, by, "left", "administrator" if as_admin else "member")

    async def remove_bot(self, group: Group, by: Person) -> None:
        await self._bot_status(group, by, self.api.members.get((group.id, BOT_ID), "member"),
                               "kicked")

    async def _bot_status(self, group: Group, by: Person, old: str, new: str) -> None:
        before = self.api.member_record(group.id, self.api.bot)
        self.api.members[(group.id, BOT_ID)] = new
        after = self.api.member_record(group.id, self.api.bot)
        before["status"] = old
        if old == "kicked":
            before["until_date"] = 0
        await self.api.push(my_chat_member={
            "chat": group.as_chat(), "from": by.as_user(), "date": int(self.api.now()),
            "old_chat_member": before, "new_chat_member": after,
        })

    async def migrate(self, group: Group, by: Person, *, bot_sees_it: bool = True) -> Group:
        """A basic group becomes a supergroup with a new id, as Telegram reports it (or,
        with ``bot_sees_it`` False, as a bot that was down meanwhile finds out: its next
        call to the old id fails with the new id)."""
        new = Group(-1_000_000_000_000 - next(_ids), group.title, "supergroup")
        self.api.chats[new.id] = new.as_chat()
        for (chat_id, user_id), status in list(self.api.members.items()):
            if chat_id == group.id:
                self.api.members[(new.id, user_id)] = status
        self.api.members[(group.id, BOT_ID)] = "left"
        self.api.migrated[group.id] = new.id
        if not bot_sees_it:
            return new
        old_chat = self.api.chats[group.id]
        await self._push_message(old_chat, by.as_user(), migrate_to_chat_id=new.id)
        await self._push_message(new.as_chat(), by.as_user(), migrate_from_chat_id=group.id)
        return new

    # --- saying things ------------------------------------------------------------

    async def say(self, where: Group | Person, who: Person, text: str, *,
                  reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """``who`` writes ``text`` in a group or in their private chat with the bot."""
        chat = self._chat(where, who)
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command)}]
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return await self._push_message(chat, who.as_user(), **content)

    async def say_as_group(self, group: Group, text: str) -> dict[str, Any]:
        """An anonymous administrator writes: Telegram shows the group as the sender."""
        content: dict[str, Any] = {"text": text, "sender_chat": group.as_chat()}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        anonymous = {"id": ANONYMOUS_ADMIN_ID, "is_bot": True, "first_name": "Group",
                     "username": "GroupAnonymousBot"}
        return await self._push_message(group.as_chat(), anonymous, **content)

    async def send_photo(self, where: Group | Person, who: Person, *, caption: str = "",
                         media_group_id: str | None = None) -> dict[str, Any]:
        chat = self._chat(where, who)
        n = next(_ids)
        content: dict[str, Any] = {"photo": [{"file_id": f"in-{n}", "file_unique_id": f"i{n}",
                                              "width": 1280, "height": 960}]}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        return await self._push_message(chat, who.as_user(), **content)

    async def send_album(self, where: Group | Person, who: Person, count: int,
                         caption: str = "") -> list[dict[str, Any]]:
        group_id = f"album-{next(_ids)}"
        return [await self.send_photo(where, who, caption=caption if i == 0 else "",
                                      media_group_id=group_id) for i in range(count)]

    async def send_document(self, where: Group | Person, who: Person, filename: str,
                            content: bytes, *, caption: str = "") -> dict[str, Any]:
        chat = self._chat(where, who)
        n = next(_ids)
        file_id = f"upload-{n}"
        self.api.files[file_id] = content
        document = {"file_id": file_id, "file_unique_id": f"f{n}", "file_name": filename,
                    "mime_type": "text/csv", "file_size": len(content)}
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return await self._push_message(chat, who.as_user(), document=document, **extra)

    async def send_sticker(self, where: Group | Person, who: Person) -> dict[str, Any]:
        chat = self._chat(where, who)
        n = next(_ids)
        return await self._push_message(chat, who.as_user(), sticker={
            "file_id": f"sticker-{n}", "file_unique_id": f"s{n}", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False,
            "emoji": "👍"})

    async def send_voice(self, where: Group | Person, who: Person,
                         duration: int = 6) -> dict[str, Any]:
        chat = self._chat(where, who)
        n = next(_ids)
        return await self._push_message(chat, who.as_user(), voice={
            "file_id": f"voice-in-{n}", "file_unique_id": f"v{n}", "duration": duration,
            "mime_type": "audio/ogg"})

    async def send_location(self, where: Group | Person, who: Person, latitude: float,
                            longitude: float) -> dict[str, Any]:
        chat = self._chat(where, who)
        return await self._push_message(chat, who.as_user(),
                                        location={"latitude": latitude, "longitude": longitude})

    async def press(self, who: Person, message: Call | dict[str, Any],
                    data: str) -> str:
        """``who`` presses the button carrying ``data`` under a message the bot sent.

        Pressing a button the message does not have is allowed (that is how a forged or
        stale button is tested), but the message itself must exist.
        """
        sent = message.result if isinstance(message, Call) else message
        stored = self.api.messages[(sent["chat"]["id"], sent["message_id"])]
        query_id = self.api.new_callback_id()
        await self.api.push(callback_query={
            "id": query_id, "from": who.as_user(), "message": stored,
            "chat_instance": str(stored["chat"]["id"]), "data": data,
        })
        return query_id

    # --- internals ----------------------------------------------------------------

    def delete(self, message: Any) -> None:
        """An admin deletes a message the bot sent (Telegram tells the bot nothing)."""
        sent = message.result if hasattr(message, "result") else message
        key = (sent["chat"]["id"], sent["message_id"])
        self.api.messages.pop(key, None)
        self.api.deleted.add(key)

    def block(self, person: Person) -> None:
        """``person`` blocks the bot: private messages to them fail with 403 until they
        write to it again."""
        self.api.blocked.add(person.id)

    def _chat(self, where: Group | Person, who: Person) -> dict[str, Any]:
        if isinstance(where, Group):
            if self.api.members.get((where.id, who.id)) in (None, "left", "kicked"):
                self.set_status(where, who, "member")
            return where.as_chat()
        self.api.started.add(who.id)
        self.api.blocked.discard(who.id)
        return self.private_chat(who)

    async def _push_message(self, chat: dict[str, Any], sender: dict[str, Any],
                            **content: Any) -> dict[str, Any]:
        message = {"message_id": self.api.next_message_id(chat["id"]),
                   "date": int(self.api.now()), "chat": chat, "from": sender, **content}
        self.api.messages[(chat["id"], message["message_id"])] = message
        await self.api.push(message=message)
        return message
