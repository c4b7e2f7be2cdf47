"""A local stand-in for the Telegram Bot API, shared by the end-to-end tests and
`yishi sandbox`.

It speaks PTB's wire format (form-encoded and multipart POSTs, ``{"ok": ...}`` replies),
keeps chats, users and messages so edits and button presses refer to real messages, serves
``getUpdates`` with offsets and long polling, and checks every call against the Bot API
spec and Telegram's limits. Anything wrong is recorded in ``violations``; the test fixture
fails a test that leaves any.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.fakeapi.formatting import ParseError, plain_text
from bot.fakeapi.spec import check_call, check_object, required_booleans

BOT_ID = 7_000_000_001
ANONYMOUS_ADMIN_ID = 1087968824  # Telegram's "GroupAnonymousBot"

SEND_METHODS = {"sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument", "sendLocation",
                "sendVoice", "sendPoll", "copyMessage", "forwardMessage", "sendVenue"}
EDIT_METHODS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                "editMessageMedia"}
GROUP_PER_MINUTE = 20


def rate_clock() -> float:
    """Real time for the flood limits (they are real-time limits); tests may freeze it."""
    return time.monotonic()
OVERALL_PER_SECOND = 30


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str | None:
        """The text as the user sees it, for sends and edits of text or captions."""
        if isinstance(self.result, dict):
            return self.result.get("text") or self.result.get("caption")
        return None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Fault:
    method: str
    # "429", "400", "403", "500", "timeout", "chat_not_found", "migrate", or "late": the
    # call is carried out (people in the chat see the message) but its answer reaches the
    # bot only once ``release`` is set, as when Telegram's answer is slow on the way back
    kind: str
    times: int = 1
    retry_after: int = 1
    delay: float = 0.0
    migrate_to: int = 0  # for "migrate": the supergroup's new id
    where: Callable[[dict[str, Any]], bool] | None = None  # only calls with such params
    release: asyncio.Event | None = None  # for "late"


# What Telegram accepts as a webhook's secret token, and how soon it posts an update again
# when the webhook did not answer 200 (Telegram waits longer; tests need not).
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_RETRY = 0.05


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None,
                 migrate_to: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to


class FakeBotApi:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        # The time messages are dated with (the sandbox dates them by its moved clock).
        self.now: Callable[[], float] = time.time
        self.bot = {"id": BOT_ID, "is_bot": True, "first_name": "yishi", "username": "yishi_bot",
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.members: dict[tuple[int, int], str] = {}  # (chat, user) -> status
        self.pinned: dict[int, int] = {}  # chat -> the pinned message
        self.deleted: set[tuple[int, int]] = set()  # (chat, message) deleted by a person
        self.started: set[int] = set()  # users who have a private chat with the bot
        self.blocked: set[int] = set()  # users who blocked the bot
        self.first_poll = asyncio.Event()  # set at the bot's first getUpdates
        self.first_poll_at = 0.0
        self.migrated: dict[int, int] = {}  # basic group -> the supergroup it became
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.files: dict[str, bytes] = {}  # file_id -> content, for getFile and downloads
        self.uploads: dict[tuple[int, int], tuple[str, bytes]] = {}  # (chat, message) -> file
        self.force_reply: set[tuple[int, int]] = set()  # bot messages asking for a reply
        self.version = 0  # grows with every recorded call or pushed update
        # Telegram's limits are real-time; a simulation that compresses time scales them.
        self.speedup = 1
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1))
        self._callback_ids = itertools.count(1)
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._changed = asyncio.Condition()
        self._windows: dict[tuple[Any, ...], deque[float]] = {}
        self._runner: web.AppRunner | None = None
        # A webhook set with setWebhook, and what was posted to it: (update id, status).
        self.webhook: dict[str, Any] | None = None
        self.webhook_posts: list[tuple[dict[str, Any], int]] = []
        self._poster: asyncio.Task[None] | None = None
        self._release = False
        self._stopping = False
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    async def start(self, *, port: int = 0,
                    routes: Callable[[web.Application], None] | None = None) -> None:
        """Listen on 127.0.0.1 only (``port`` 0: any free port); ``routes`` may add pages
        of its own to the same server (the sandbox does)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        if routes is not None:
            routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def undelivered(self) -> int:
        """Updates pushed and not yet fetched (or not yet acknowledged by the webhook)."""
        return len(self._updates)

    def release_long_polls(self) -> None:
        """Let a waiting getUpdates return at once, so a bot can stop without waiting."""
        self._release = True
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def stop(self) -> None:
        self._stopping = True
        async with self._changed:
            self._changed.notify_all()
        if self._poster is not None:
            self._poster.cancel()
            await asyncio.gather(self._poster, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        raw = await self._read_params(request)
        params, problems = check_call(method, raw)
        self.violations.extend(problems)
        call = Call(method, params)
        fault = self._take_fault(method, params)
        late = fault if fault is not None and fault.kind == "late" else None
        try:
            if fault is not None and late is None:
                await self._inject(fault)
            if problems:
                raise ApiError(400, f"Bad Request: {problems[0]}")
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                self.violations.append(f"{method}: the fake does not implement it")
                raise ApiError(400, f"Bad Request: method {method} not implemented by fake")
            call.result = await handler(params) if asyncio.iscoroutinefunction(handler) \
                else handler(params)
            reply: dict[str, Any] = {"ok": True, "result": call.result}
            status = 200
        except ApiError as exc:
            call.error = exc.description
            reply = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.retry_after is not None:
                reply["parameters"] = {"retry_after": exc.retry_after}
            if exc.migrate_to is not None:
                reply["parameters"] = {"migrate_to_chat_id": exc.migrate_to}
            status = exc.code
        if method != "getUpdates" or call.result:
            self.calls.append(call)
            self.version += 1
            async with self._changed:
                self._changed.notify_all()
        if late is not None and late.release is not None:
            await late.release.wait()
        return web.json_response(reply, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        content = self.files.get(request.match_info["path"].removeprefix("documents/"))
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            else:
                params[key] = {"upload": value.filename, "content": value.file.read()}
        return params

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0 and (
                    fault.where is None or fault.where(params)):
                fault.times -= 1
                return fault
        return None

    async def _inject(self, fault: Fault) -> None:
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return
        if fault.kind == "429":
            raise ApiError(429, f"Too Many Requests: retry after {fault.retry_after}",
                           retry_after=fault.retry_after)
        if fault.kind == "403":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if fault.kind == "500":
            raise ApiError(500, "Internal Server Error")
        if fault.kind == "chat_not_found":
            raise ApiError(400, "Bad Request: chat not found")
        if fault.kind == "migrate":
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           migrate_to=fault.migrate_to)
        raise ApiError(400, "Bad Request: injected fault")

    # ----------------------------------------------------------------- limits

    def _check_rate(self, chat_id: int) -> None:
        """Telegram's limits as Telegram counts them: strict windows — never more than 30
        messages in any one second overall, nor 20 in any 60 seconds to one group (edits
        included). The 31st (or 21st) is refused with a 429 saying how long to wait."""
        now = rate_clock()
        overall = self._window(("overall",), now, 1.0)
        group = self._window(("group", chat_id), now, 60.0) if chat_id < 0 else None
        if len(overall) >= OVERALL_PER_SECOND * self.speedup:
            self.violations.append("flood: more than 30 messages in one second")
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if group is not None and len(group) >= GROUP_PER_MINUTE * self.speedup:
            wait = max(1, math.ceil(group[0] + 60.0 - now))
            self.violations.append(f"flood: more than {GROUP_PER_MINUTE * self.speedup} "
                                   f"messages in one minute in group {chat_id}")
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        overall.append(now)
        if group is not None:
            group.append(now)

    def _window(self, key: tuple[Any, ...], now: float, period: float) -> deque[float]:
        """The times of the sends counted under ``key`` within the last ``period``."""
        sent = self._windows.setdefault(key, deque())
        while sent and sent[0] <= now - period:
            sent.popleft()
        return sent

    def _text(self, params: dict[str, Any], key: str, limit: int, method: str,
              minimum: int = 1) -> tuple[str, str | None]:
        source = params.get(key)
        if source is None:
            return "", None
        try:
            text = plain_text(source, params.get("parse_mode"))
        except ParseError as exc:
            self.violations.append(f"{method}: can't parse entities: {exc}")
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        # Telegram trims surrounding whitespace; a text that is only whitespace is empty.
        length = len(text.strip())
        if length < minimum or len(text) > limit:
            self.violations.append(f"{method}: {key} is {len(text)} characters "
                                   f"(allowed {minimum}-{limit})")
            raise ApiError(400, f"Bad Request: {key} is too long" if len(text) > limit
                           else f"Bad Request: {key} is empty")
        return text, source

    def _check_markup(self, params: dict[str, Any], method: str) -> None:
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    self.violations.append(f"{method}: callback_data of {len(data.encode())} "
                                           "bytes (allowed 1-64)")
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    self.violations.append(f"{method}: a button without text")
                    raise ApiError(400, "Bad Request: button text is empty")

    def _chat(self, chat_id: Any, method: str) -> dict[str, Any]:
        chat = self.chats.get(int(chat_id)) if str(chat_id).lstrip("-").isdigit() else None
        if chat is None:
            self.violations.append(f"{method}: unknown chat {chat_id}")
            raise ApiError(400, "Bad Request: chat not found")
        if chat["id"] in self.migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           migrate_to=self.migrated[chat["id"]])
        if chat["type"] == "private" and chat["id"] in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat["type"] == "private" and chat["id"] not in self.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat["type"] != "private" and self.members.get((chat["id"], BOT_ID)) in (
                None, "left", "kicked"):
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        return chat

    def _new_message(self, chat: dict[str, Any], sender: dict[str, Any],
                     **content: Any) -> dict[str, Any]:
        message = {"message_id": next(self._message_ids[chat["id"]]), "date": int(self.now()),
                   "chat": chat, "from": sender, **content}
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _reply_to(self, params: dict[str, Any], chat_id: int, method: str) -> dict[str, Any]:
        reply = params.get("reply_parameters")
        if not reply:
            return {}
        target = self.messages.get((int(reply.get("chat_id", chat_id)), reply["message_id"]))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return {}
            self.violations.append(f"{method}: reply to a message that does not exist")
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {"reply_to_message": target}

    # ----------------------------------------------------------------- methods

    def continue_after(self, update_id: int) -> None:
        """Number updates from ``update_id`` + 1, as Telegram would for a bot that has
        received up to there (a local Bot API restarted on a kept database)."""
        self._update_ids = itertools.count(update_id + 1)

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        """As Telegram (or a local Bot API server, which also takes http://): from now on
        updates are posted to ``url``, one connection at most ``max_connections``, each
        with the secret token in a header; getUpdates is refused meanwhile."""
        url = str(params["url"])
        if not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        connections = int(params.get("max_connections", 40))
        if not 1 <= connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be 1-100")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {"url": url, "secret_token": secret, "max_connections": connections,
                        "allowed_updates": params.get("allowed_updates")}
        if self._poster is None or self._poster.done():
            self._poster = asyncio.create_task(self._post_updates())
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is None:
            return {"url": "", "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
                "max_connections": self.webhook["max_connections"]}

    async def _post_updates(self) -> None:
        """Telegram's side of a webhook: post the oldest update not yet acknowledged, one
        at a time; anything but a 200 and it is posted again a moment later."""
        async with ClientSession() as session:
            while self.webhook is not None and not self._stopping:
                if not self._updates:
                    async with self._changed:
                        if not self._updates and self.webhook is not None \
                                and not self._stopping:
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._changed.wait(), 0.5)
                    continue
                update, hook = self._updates[0], self.webhook
                headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} \
                    if hook["secret_token"] else {}
                try:
                    async with session.post(hook["url"], json=update, headers=headers,
                                            timeout=ClientTimeout(total=10)) as response:
                        status = response.status
                except (ClientError, TimeoutError, OSError):
                    status = 0  # no answer: the bot is down or restarting
                self.webhook_posts.append((update, status))
                if status == 200:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                else:
                    await asyncio.sleep(WEBHOOK_RETRY)

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            self.violations.append("setMyCommands: more than 100 commands")
        for command in commands:
            name, description = command["command"], command["description"]
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum()
                    and name == name.lower()):
                self.violations.append(f"setMyCommands: bad command name {name!r}")
            if not 1 <= len(description) <= 256:
                self.violations.append(f"setMyCommands: description of /{name} is "
                                       f"{len(description)} characters")
        scope = (params.get("scope") or {"type": "default"})["type"]
        self.commands[(scope, params.get("language_code", ""))] = commands
        return True

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        scope = (params.get("scope") or {"type": "default"})["type"]
        self.commands.pop((scope, params.get("language_code", "")), None)
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        if not self.first_poll.is_set():
            self.first_poll_at = time.monotonic()
            self.first_poll.set()
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        if offset:
            # Telegram forgets what the bot confirmed by asking for a later offset.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        async with self._changed:
            self._release = False
            while (not self._updates and time.monotonic() < deadline and not self._release
                   and not self._stopping):
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        return self._updates[:limit]

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "sendMessage")
        text, _ = self._text(params, "text", 4096, "sendMessage")
        self._check_markup(params, "sendMessage")
        extra = self._reply_to(params, chat["id"], "sendMessage")
        self._check_rate(chat["id"])
        content: dict[str, Any] = {"text": text, "html": params["text"], **extra}
        if params.get("reply_markup", {}).get("inline_keyboard") is not None:
            content["reply_markup"] = params["reply_markup"]
        message = self._new_message(chat, self.bot, **content)
        if params.get("reply_markup", {}).get("force_reply"):
            self.force_reply.add((chat["id"], message["message_id"]))
        return self._public(message)

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "sendPhoto")
        caption, _ = self._text(params, "caption", 1024, "sendPhoto", minimum=0)
        self._check_markup(params, "sendPhoto")
        self._check_rate(chat["id"])
        photo = params["photo"]
        content: dict[str, Any] = {"photo": [self._photo_size(photo)], **self._reply_to(
            params, chat["id"], "sendPhoto")}
        if caption:
            content["caption"] = caption
            content["html"] = params["caption"]
        if params.get("reply_markup", {}).get("inline_keyboard") is not None:
            content["reply_markup"] = params["reply_markup"]
        upload = self._upload(params, photo) if not isinstance(photo, str) \
            or photo.startswith("attach://") else None
        if upload is not None:
            # A new photo: Telegram takes JPEG/PNG/WebP up to 10 MB.
            if len(upload[1]) > 10 * 1024 * 1024:
                self.violations.append("sendPhoto: photo larger than 10 MB")
                raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
            if not upload[1].startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF")):
                self.violations.append("sendPhoto: upload is not a JPEG, PNG or WebP image")
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        message = self._new_message(chat, self.bot, **content)
        if upload is not None:
            self.uploads[(chat["id"], message["message_id"])] = upload
            self.files[content["photo"][0]["file_id"]] = upload[1]
        return self._public(message)

    def _api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat(params["chat_id"], "sendMediaGroup")
        media = params["media"]
        if not 2 <= len(media) <= 10:
            self.violations.append(f"sendMediaGroup: {len(media)} items (allowed 2-10)")
            raise ApiError(400, "Bad Request: wrong number of media in the album")
        self._check_rate(chat["id"])
        group_id = str(next(self._update_ids) * 1000)
        sent = []
        for item in media:
            if len(plain_text(item.get("caption", ""), item.get("parse_mode"))) > 1024:
                self.violations.append("sendMediaGroup: caption longer than 1024")
                raise ApiError(400, "Bad Request: message caption is too long")
            extra = {"caption": plain_text(item["caption"], item.get("parse_mode"))} \
                if item.get("caption") else {}
            sent.append(self._public(self._new_message(
                chat, self.bot, photo=[self._photo_size(item.get("media"))],
                media_group_id=group_id, **extra)))
        return sent

    def _api_sendVoice(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "sendVoice")
        caption, _ = self._text(params, "caption", 1024, "sendVoice", minimum=0)
        self._check_markup(params, "sendVoice")
        self._check_rate(chat["id"])
        voice = params["voice"]
        file_id = voice if isinstance(voice, str) and "://" not in voice \
            else f"voice-{next(self._update_ids)}"
        content: dict[str, Any] = {"voice": {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                                             "duration": 5},
                                   **self._reply_to(params, chat["id"], "sendVoice")}
        if caption:
            content["caption"] = caption
        return self._public(self._new_message(chat, self.bot, **content))

    def _location(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        latitude, longitude = float(params["latitude"]), float(params["longitude"])
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.violations.append(f"{method}: coordinates out of range")
            raise ApiError(400, "Bad Request: wrong coordinates")
        return {"latitude": latitude, "longitude": longitude}

    def _api_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "sendLocation")
        self._check_rate(chat["id"])
        return self._public(self._new_message(
            chat, self.bot, location=self._location(params, "sendLocation"),
            **self._reply_to(params, chat["id"], "sendLocation")))

    def _api_sendVenue(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "sendVenue")
        self._check_rate(chat["id"])
        for key in ("title", "address"):
            if not str(params.get(key, "")).strip():
                self.violations.append(f"sendVenue: {key} is empty")
                raise ApiError(400, f"Bad Request: venue {key} is empty")
        place = self._location(params, "sendVenue")
        return self._public(self._new_message(
            chat, self.bot, location=place,
            venue={"location": place, "title": params["title"], "address": params["address"]},
            **self._reply_to(params, chat["id"], "sendVenue")))

    def _edit_target(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None:
            if key not in self.deleted:  # one a person deleted the bot cannot know of
                self.violations.append(f"{method}: no message {key}")
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_ID:
            self.violations.append(f"{method}: editing someone else's message")
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._edit_target(params, "editMessageText")
        self._check_rate(message["chat"]["id"])
        text, source = self._text(params, "text", 4096, "editMessageText")
        self._check_markup(params, "editMessageText")
        markup = params.get("reply_markup")
        if source == message.get("html") and markup == message.get("reply_markup"):
            self.violations.append("editMessageText: identical content")
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same")
        message.update(text=text, html=source, edit_date=int(self.now()))
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._public(message)

    def _api_editMessageCaption(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._edit_target(params, "editMessageCaption")
        self._check_rate(message["chat"]["id"])
        if "photo" not in message and "document" not in message:
            self.violations.append("editMessageCaption: the message has no media")
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, source = self._text(params, "caption", 1024, "editMessageCaption", minimum=0)
        self._check_markup(params, "editMessageCaption")
        markup = params.get("reply_markup")
        if source == message.get("html") and markup == message.get("reply_markup"):
            self.violations.append("editMessageCaption: identical content")
            raise ApiError(400, "Bad Request: message is not modified")
        message.update(caption=caption, html=source, edit_date=int(self.now()))
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._public(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._edit_target(params, "editMessageReplyMarkup")
        self._check_rate(message["chat"]["id"])
        self._check_markup(params, "editMessageReplyMarkup")
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup"):
            self.violations.append("editMessageReplyMarkup: identical content")
            raise ApiError(400, "Bad Request: message is not modified")
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return self._public(message)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._callbacks:
            self.violations.append(f"answerCallbackQuery: unknown query {query_id}")
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        if self._callbacks[query_id]:
            self.violations.append(f"answerCallbackQuery: query {query_id} answered twice")
            raise ApiError(400, "Bad Request: query is already answered")
        if len(params.get("text", "")) > 200:
            self.violations.append("answerCallbackQuery: text longer than 200 characters")
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callbacks[query_id] = True
        return True

    def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        user = self.bot if user_id == BOT_ID else self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        return self.member_record(chat_id, user)

    def _api_pinChatMessage(self, params: dict[str, Any]) -> bool:
        """In a group the bot must be an administrator (the fake grants admins every
        right); a private chat may always be pinned in."""
        chat = self._chat(params["chat_id"], "pinChatMessage")
        key = (chat["id"], int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to pin not found")
        if chat["type"] != "private" and self.members.get((chat["id"], BOT_ID)) not in (
                "creator", "administrator"):
            raise ApiError(400, "Bad Request: not enough rights to manage pinned messages in "
                                "the chat")
        self.pinned[chat["id"]] = key[1]
        return True

    def _api_getChatAdministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = int(params["chat_id"])
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        admins = []
        for (chat, user_id), status in self.members.items():
            if chat == chat_id and status in ("creator", "administrator"):
                user = self.bot if user_id == BOT_ID else self.users[user_id]
                admins.append(self.member_record(chat_id, user))
        return admins

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "sendDocument")
        caption, _ = self._text(params, "caption", 1024, "sendDocument", minimum=0)
        self._check_rate(chat["id"])
        document = params["document"]
        upload = self._upload(params, document)
        n = next(self._update_ids)
        content: dict[str, Any] = {"document": {"file_id": f"doc-{n}",
                                                "file_unique_id": f"d{n}",
                                                "file_name": upload[0],
                                                "file_size": len(upload[1])}}
        if caption:
            content["caption"] = caption
        message = self._new_message(chat, self.bot, **content)
        self.uploads[(chat["id"], message["message_id"])] = upload
        return self._public(message)

    def _upload(self, params: dict[str, Any], value: Any) -> tuple[str, bytes]:
        """PTB sends a file as a multipart part, referenced as attach://name or directly."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, dict) and "content" in value:
            return value["upload"] or "file", value["content"]
        return str(value), b""

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]), "file_path": f"documents/{file_id}"}

    def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"], "getChat")
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False,
                                        "gifts_from_channels": False}}

    # ----------------------------------------------------------------- objects

    def member_record(self, chat_id: int, user: dict[str, Any]) -> dict[str, Any]:
        status = self.members.get((chat_id, user["id"]), "left")
        record: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            record["is_anonymous"] = False
        elif status == "administrator":
            record.update(required_booleans("ChatMemberAdministrator"))
        elif status == "kicked":
            record["until_date"] = 0
        return record

    def _photo_size(self, source: Any = None) -> dict[str, Any]:
        """A photo as Telegram describes it; a photo resent by its file_id keeps it."""
        n = next(self._update_ids)
        file_id = source if isinstance(source, str) and source and "://" not in source \
            else f"photo-{n}"
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 800,
                "height": 600, "file_size": 50_000}

    @staticmethod
    def _public(message: dict[str, Any]) -> dict[str, Any]:
        """A stored message as the Bot API returns it (without the fake's bookkeeping)."""
        return {k: v for k, v in message.items() if k != "html"}

    # ----------------------------------------------------------------- pushing updates

    async def push(self, **update: Any) -> dict[str, Any]:
        update = _strip_private({"update_id": next(self._update_ids), **update})
        problems: list[str] = []
        check_object("Update", update, "Update", problems)
        if problems:
            raise AssertionError(f"the test built an invalid update: {problems}")
        self._updates.append(update)
        self.version += 1
        async with self._changed:
            self._changed.notify_all()
        return update

    async def push_unknown(self, kind: str, payload: dict[str, Any]) -> None:
        """An update of a kind newer than Bot API 10.0 (a bot must ignore what it does not
        know); not checked against the spec, which cannot know it either."""
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        async with self._changed:
            self._changed.notify_all()

    def new_callback_id(self) -> str:
        query_id = str(next(self._callback_ids) + 5_000_000)
        self._callbacks[query_id] = False
        return query_id

    def unanswered_callbacks(self) -> list[str]:
        return [qid for qid, answered in self._callbacks.items() if not answered]

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids[chat_id])

    # ----------------------------------------------------------------- waiting

    def mark(self) -> int:
        return len(self.calls)

    async def wait_for(self, method: str | tuple[str, ...], *, after: int = 0,
                       timeout: float = 10.0,
                       where: Callable[[Call], bool] | None = None) -> Call:
        """The first successful ``method`` call (or one of several methods) after mark
        ``after`` that matches ``where``."""
        methods = (method,) if isinstance(method, str) else method
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for call in self.calls[after:]:
                    if call.method in methods and call.error is None and (
                            where is None or where(call)):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.params.get("chat_id"), c.error)
                            for c in self.calls[after:]]
                    raise AssertionError(f"no {method} call arrived; saw {seen}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass

    async def wait_changed(self, since: int, timeout: float) -> int:
        """Wait until something happened after ``version`` ``since`` (or ``timeout``
        seconds passed); returns the version now."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while self.version == since and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    break
        return self.version

    async def wait_count(self, method: str, count: int, *, after: int = 0,
                         timeout: float = 30.0) -> list[Call]:
        """Wait until ``count`` successful ``method`` calls arrived after mark ``after``."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while len(found := self.sent(method, after=after)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"only {len(found)} of {count} {method} calls arrived")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass
            return found

    def upload(self, call: Call) -> tuple[str, bytes]:
        """The file (name, content) the bot uploaded with ``call``."""
        return self.uploads[(call.result["chat"]["id"], call.result["message_id"])]

    def sent(self, method: str = "sendMessage", chat_id: int | None = None,
             after: int = 0) -> list[Call]:
        return [c for c in self.calls[after:] if c.method == method and c.error is None
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]


def _strip_private(value: Any) -> Any:
    """Drop the fake's own bookkeeping keys before checking an object against the spec."""
    if isinstance(value, dict):
        return {k: _strip_private(v) for k, v in value.items() if k != "html"}
    if isinstance(value, list):
        return [_strip_private(v) for v in value]
    return value

