"""The sandbox's page and the small JSON API behind it, served by the stand-in's own
HTTP server (127.0.0.1 only).

The page asks for the chats of whoever you are playing and is told of changes by long
polling; what you do there becomes the updates Telegram would send the bot.
"""

from __future__ import annotations

import hashlib
import html
import itertools
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.fakeapi.server import BOT_ID
from bot.i18n import N_, WEEKDAY_NAMES, translator
from bot.sandbox.world import Sandbox

STATIC = Path(__file__).with_name("static")
_samples = itertools.count(1)
FORWARDS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
LONG_POLL_SECONDS = 20.0
MAX_TEXT = 4096  # what Telegram lets a person type in one message
ANSWER_WAIT_SECONDS = 10.0

# The page's own words, sent to it translated.
UI = {
    "you_are": N_("You are"), "hour": N_("+1 hour"), "day": N_("+1 day"),
    "week": N_("+1 week"), "send": N_("Send"), "photo": N_("Photo"), "album": N_("Album"),
    "location": N_("Location"), "reply": N_("Reply"), "edited": N_("edited"),
    "replying_to": N_("Replying to"), "type_here": N_("Write a message or a /command"),
    "private_with": N_("Private chat with"), "private_tab": N_("Private chat"),
    "group_tab": N_("Group"), "offline": N_("The sandbox is not answering; retrying…"),
    "failed": N_("That did not work."),
}
ROLES = {"moderator": N_("moderator"), "handler": N_("handler"), "resident": N_("resident"),
         "newcomer": N_("newcomer, not on the roster yet")}


# ---------------------------------------------------------------------- rendering


class _Sanitizer(HTMLParser):
    """The bot's Telegram HTML as safe browser HTML: Telegram's own tags kept, links only
    to http(s) and t.me, everything else shown as text."""

    KEEP = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s",
            "strike": "s", "del": "s", "code": "code", "pre": "pre",
            "blockquote": "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in self.KEEP:
            self._open(self.KEEP[tag], "")
        elif tag == "a" and (found.get("href") or "").startswith(("https://", "http://")):
            self._open("a", f' href="{html.escape(found["href"] or "")}" target="_blank" '
                            'rel="noopener noreferrer"')
        elif tag == "tg-spoiler" or (tag == "span" and found.get("class") == "tg-spoiler"):
            self._open("span", ' class="spoiler"')
        else:
            self.stack.append("")  # unknown: keep its text only

    def _open(self, tag: str, attributes: str) -> None:
        self.out.append(f"<{tag}{attributes}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            opened = self.stack.pop()
            if opened:
                self.out.append(f"</{opened}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.stack) if t)


def safe_html(source: str) -> str:
    sanitizer = _Sanitizer()
    sanitizer.feed(source)
    return sanitizer.result()


def render(sandbox: Sandbox, message: dict[str, Any]) -> dict[str, Any]:
    """One message as the page shows it."""
    chat_id, message_id = message["chat"]["id"], message["message_id"]
    sender = message["from"]
    from_bot = sender["id"] == BOT_ID
    shown: dict[str, Any] = {
        "id": message_id,
        "from": {"id": sender["id"], "name": sender.get("first_name", ""), "bot": from_bot},
        "edited": "edit_date" in message,
        # When it was sent, by the sandbox's clock: after moving time, reminders show when
        # they went out.
        "time": datetime.fromtimestamp(message["date"], sandbox.timezone).strftime(
            "%m-%d %H:%M"),
        "force_reply": (chat_id, message_id) in sandbox.api.force_reply,
    }
    body = message.get("text", message.get("caption"))
    if body is not None:
        # The bot writes Telegram HTML; people type plain text.
        shown["html"] = safe_html(message["html"]) if from_bot and "html" in message \
            else html.escape(body)
    if "photo" in message:
        shown["photo"] = f"/sandbox/photo/{message['photo'][-1]['file_id']}"
    if "document" in message:
        shown["document"] = {"name": message["document"].get("file_name", "file"),
                             "url": f"/sandbox/file/{chat_id}/{message_id}"}
    if "location" in message:
        shown["location"] = message["location"]
    if message.get("media_group_id"):
        shown["album"] = message["media_group_id"]
    reply = message.get("reply_to_message")
    if reply:
        shown["reply_to"] = {"id": reply["message_id"], "from": reply["from"]["id"],
                             "text": (reply.get("text") or reply.get("caption") or "")[:80]}
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    shown["buttons"] = [[_button(sandbox, b) for b in row] for row in keyboard]
    return shown


def _button(sandbox: Sandbox, button: dict[str, Any]) -> dict[str, Any]:
    if "callback_data" in button:
        return {"text": button["text"], "data": button["callback_data"]}
    url = button.get("url", "")
    prefix = f"https://t.me/{sandbox.api.bot['username']}?start="
    if url.startswith(prefix):
        # A deep link into the private chat: the page sends /start <payload> there.
        return {"text": button["text"], "start": url.removeprefix(prefix)}
    return {"text": button["text"], "url": url}


def placeholder_photo(file_id: str) -> bytes:
    """A sample photo: a coloured card standing for the picture someone took."""
    digest = hashlib.sha256(file_id.encode()).digest()
    hue = digest[0] * 360 // 256
    label = html.escape(file_id[-12:])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" '
            f'viewBox="0 0 400 300"><rect width="400" height="300" '
            f'fill="hsl({hue},55%,62%)"/><circle cx="300" cy="80" r="36" '
            f'fill="hsl({hue},70%,85%)"/><path d="M0 300 L130 150 L220 240 L280 180 L400 300Z" '
            f'fill="hsl({(hue + 40) % 360},45%,40%)"/><text x="16" y="284" font-size="18" '
            f'font-family="sans-serif" fill="#fff">📷 {label}</text></svg>').encode()


# ---------------------------------------------------------------------- the API


class SandboxWeb:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC, show_index=False)
        app.router.add_get("/sandbox/api/world", self._world)
        app.router.add_get("/sandbox/api/state", self._state)
        app.router.add_post("/sandbox/api/act", self._act)
        app.router.add_get("/sandbox/photo/{file_id}", self._photo)
        app.router.add_get("/sandbox/file/{chat}/{message}", self._file)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _world(self, request: web.Request) -> web.Response:
        sandbox = self.sandbox
        _ = translator(sandbox.language)
        cast = [{"id": person.id, "key": key, "name": person.first_name,
                 "role": sandbox.characters[person.id].role,
                 "role_label": _(ROLES[sandbox.characters[person.id].role]),
                 "unit": sandbox.characters[person.id].unit}
                for key, person in sandbox.people.items()]
        return web.json_response({"language": sandbox.language, "people": cast,
                                  "bot": sandbox.api.bot["first_name"],
                                  "ui": {key: _(text) for key, text in UI.items()}})

    def _clock(self) -> dict[str, str]:
        now = self.sandbox.clock.now().astimezone(self.sandbox.timezone)
        _ = translator(self.sandbox.language)
        return {"iso": now.isoformat(),
                "shown": f"{now:%Y-%m-%d %H:%M} ({_(WEEKDAY_NAMES[now.weekday()])})"}

    async def _roles(self) -> dict[str, str]:
        """Each person's role as the picker shows it, now: a newcomer once approved is a
        resident."""
        _ = translator(self.sandbox.language)
        verified = await self.sandbox.verified()
        roles = {}
        for person_id, character in self.sandbox.characters.items():
            role = character.role
            if role == "newcomer" and person_id in verified:
                role = "resident"
            roles[str(person_id)] = _(ROLES[role])
        return roles

    def _refuse(self, message: str) -> web.HTTPBadRequest:
        """A polite refusal in the sandbox's language; nothing was done."""
        return web.HTTPBadRequest(text=translator(self.sandbox.language)(message))

    def _person(self, request: web.Request, value: Any) -> int:
        try:
            user_id = int(value)
        except (TypeError, ValueError):
            raise self._refuse(N_("Choose who you are first.")) from None
        if user_id not in self.sandbox.characters:
            raise self._refuse(N_("There is no such person in the sandbox."))
        return user_id

    async def _state(self, request: web.Request) -> web.Response:
        user_id = self._person(request, request.query.get("as"))
        since = int(request.query.get("since", "-1") or -1)
        api = self.sandbox.api
        if since == api.version:
            await api.wait_changed(since, LONG_POLL_SECONDS)
        if not self.sandbox.running:
            # Stopping (Ctrl-C): the page is told the sandbox is gone, and nothing is logged.
            raise web.HTTPServiceUnavailable(text=translator(self.sandbox.language)(
                N_("The sandbox has stopped.")))
        chats = []
        for chat_id, chat in api.chats.items():
            if chat_id == user_id or (chat["type"] != "private" and api.members.get(
                    (chat_id, user_id)) not in (None, "left", "kicked")):
                chats.append(self._chat(chat, user_id))
        chats.sort(key=lambda c: c["kind"] == "private")  # the group first
        return web.json_response({"version": api.version, "clock": self._clock(),
                                  "roles": await self._roles(), "chats": chats})

    def _chat(self, chat: dict[str, Any], user_id: int) -> dict[str, Any]:
        api = self.sandbox.api
        messages = sorted((m for (c, _), m in api.messages.items() if c == chat["id"]),
                          key=lambda m: m["message_id"])
        private = chat["type"] == "private"
        return {"id": chat["id"], "kind": "private" if private else "group",
                "title": api.bot["first_name"] if private else chat["title"],
                "pinned": api.pinned.get(chat["id"]),
                "messages": [render(self.sandbox, m) for m in messages]}

    async def _act(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise self._refuse(N_("The page sent something the sandbox cannot read.")) from None
        if not isinstance(body, dict):
            raise self._refuse(N_("The page sent something the sandbox cannot read."))
        kind = body.get("kind")
        if kind == "forward":
            if body.get("by") not in FORWARDS:
                raise self._refuse(N_("Time can move by an hour, a day or a week."))
            await self.sandbox.fast_forward(FORWARDS[body["by"]])
            return web.json_response({"ok": True, "clock": self._clock()})
        user_id = self._person(request, body.get("as"))
        person = next(p for p in self.sandbox.people.values() if p.id == user_id)
        where = self._where(body.get("chat"), person)
        tg = self.sandbox.tg
        if kind == "say":
            text = str(body.get("text", ""))
            if not text.strip() or len(text) > MAX_TEXT:
                raise self._refuse(N_("A message is 1 to 4096 characters long."))
            await tg.say(where, person, text, reply_to=self._message(where, body.get("reply_to")))
        elif kind == "press":
            message = self._message(where, body.get("message"))
            if message is None or not isinstance(body.get("data"), str):
                raise self._refuse(N_("That button is not on a message in this chat."))
            mark = self.sandbox.api.mark()
            query = await tg.press(person, message, body["data"])
            try:
                answer = await self.sandbox.api.wait_for(
                    "answerCallbackQuery", after=mark, timeout=ANSWER_WAIT_SECONDS,
                    where=lambda c: c.params.get("callback_query_id") == query)
            except AssertionError:  # no answer in time: the press still went in
                return web.json_response({"ok": True, "answer": ""})
            return web.json_response({"ok": True, "answer": answer.params.get("text", "")})
        elif kind in ("photo", "album"):
            count = 1 if kind == "photo" else 3
            caption = str(body.get("caption", ""))[:1024]
            if count == 1:
                await tg.send_photo(where, person, caption=caption)
            else:
                await tg.send_album(where, person, count, caption=caption)
        elif kind == "location":
            try:
                latitude, longitude = float(body["latitude"]), float(body["longitude"])
            except (KeyError, TypeError, ValueError):
                raise self._refuse(N_("A location needs a latitude and a longitude.")) \
                    from None
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise self._refuse(N_("That place is not on Earth."))
            await tg.send_location(where, person, latitude, longitude)
        else:
            raise self._refuse(N_("The sandbox does not know that action."))
        return web.json_response({"ok": True})

    def _where(self, chat: Any, person: Any) -> Any:
        sandbox = self.sandbox
        if chat == "private" or chat == person.id:
            return person
        assert sandbox.group is not None
        if chat in ("group", sandbox.group.id):
            return sandbox.group
        raise self._refuse(N_("Write in the group or in your private chat."))

    def _message(self, where: Any, message_id: Any) -> dict[str, Any] | None:
        if message_id in (None, ""):
            return None
        try:
            key = (where.id, int(message_id))
        except (TypeError, ValueError):
            raise self._refuse(N_("That message is not in this chat.")) from None
        found = self.sandbox.api.messages.get(key)
        if found is None:
            raise self._refuse(N_("That message is not in this chat."))
        return found

    async def _photo(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = self.sandbox.api.files.get(file_id)
        if content is not None:
            kind = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
            return web.Response(body=content, content_type=kind)
        return web.Response(body=placeholder_photo(file_id), content_type="image/svg+xml")

    async def _file(self, request: web.Request) -> web.Response:
        try:
            key = int(request.match_info["chat"]), int(request.match_info["message"])
        except ValueError:
            raise web.HTTPNotFound() from None
        upload = self.sandbox.api.uploads.get(key)
        if upload is None:
            raise web.HTTPNotFound()
        name, content = upload
        return web.Response(body=content, headers={
            "Content-Disposition": f'attachment; filename="{Path(name).name}"'})
