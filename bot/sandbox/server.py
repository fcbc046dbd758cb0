"""A local Bot API server: our test double and sandbox for the network we cannot reach.

It speaks the wire format the real one does — ``POST /bot<token>/<method>`` with form or
multipart fields whose non-string values are JSON, answered with ``{"ok": true,
"result": …}`` or Telegram's error shape (``error_code``, ``description``,
``parameters.retry_after`` / ``migrate_to_chat_id``) — for the methods taskbot uses.
It checks what Telegram checks (HTML entities, 4096 characters, 64-byte callback data),
can enforce Telegram's flood limits and inject faults. The control side acts as people:
send text, commands, photos and files, tap buttons, and read what the bot sent.

It is never part of production traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.flood import FloodLimits, wait_needed
from bot.sandbox.html_check import HtmlError, visible_text
from bot.sandbox.threaded import start_on_own_loop, stop_own_loop
from bot.sandbox.webhook import SECRET_PATTERN, WebhookPusher, webhook_url_problem

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "督办助手", "username": "taskbot_sandbox_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "allowed_updates", "reply_markup", "commands",
               "scope", "show_alert", "cache_time", "disable_notification", "protect_content", "reply_parameters",
               "link_preview_options", "drop_pending_updates", "max_connections", "entities", "caption_entities",
               "disable_web_page_preview"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class Person:
    id: int
    first_name: str
    username: str | None = None

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": "zh"}
        if self.username:
            user["username"] = self.username
        return user


@dataclass
class Fault:
    """One injected failure: the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail."""

    method: str
    kind: str  # "429" | "500" | "timeout" | "403" | "migrate" | "400"
    times: int = 1
    chat_id: int | None = None
    retry_after: int = 1
    migrate_to_chat_id: int | None = None
    delay: float = 5.0  # for "timeout": how long the server sits on the request


@dataclass
class SandboxState:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    sent: list[dict[str, Any]] = field(default_factory=list)  # every message the bot sent, in order
    files: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # file_id -> (data, name, mime)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[float, str, int | None]] = field(default_factory=list)  # (time, method, chat) for rate checks
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (method, code, description)
    blocked: set[int] = field(default_factory=set)
    migrated: dict[int, int] = field(default_factory=dict)
    sending: Counter[int] = field(default_factory=Counter)  # chat -> send calls on the wire now
    most_sending: int = 0  # the most send calls on the wire at once
    overlapped: list[int] = field(default_factory=list)  # chats sent to while a call to them was on the wire
    # Telegram's privacy mode (BotFather /setprivacy), on for a new bot: in a group the bot hears only
    # what is meant for it, unless it is an administrator there (see _reaches_bot).
    privacy: bool = True
    bot_admin_in: set[int] = field(default_factory=set)
    withheld: list[dict[str, Any]] = field(default_factory=list)  # group messages the bot never received


class SandboxServer:
    def __init__(self, token: str = "123456:SANDBOX", *, flood_limits: FloodLimits | None = None,
                 monotonic: Callable[[], float] = time.monotonic, round_trip: float = 0.0) -> None:
        self.token = token
        self.flood_limits = flood_limits
        # Seconds each Bot API call spends on the wire, half each way (the real server is far
        # away; loopback would hide a sender that waits for one answer before the next send).
        self.round_trip = round_trip
        self.monotonic = monotonic
        self.state = SandboxState()
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Notified whenever the bot's message is recorded: a waiting test or bench wakes at once,
        # so the latency it measures is the bot's, not a polling period's.
        self._message_recorded = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = False  # a long poll still waiting returns at once: stopping waits for it
        self._sent_times: deque[float] = deque()
        self._chat_times: dict[int, deque[float]] = defaultdict(deque)
        self.webhook: WebhookPusher | None = None  # set by setWebhook: updates are pushed, not polled
        self._webhook_task: asyncio.Task[None] | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_post("/sandbox/send", self._control_send)
        app.router.add_post("/sandbox/tap", self._control_tap)
        app.router.add_get("/sandbox/messages", self._control_messages)
        return app

    async def start_async(self, port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._new_update = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop_async(self) -> None:
        self._stopping = True
        if self._new_update is not None:
            self._new_update.set()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self, port: int = 0) -> SandboxServer:
        """Run the server on its own event loop in a daemon thread (tests, the terminal sandbox)."""
        self._thread = start_on_own_loop("sandbox-bot-api", lambda: self.start_async(port), self.stop_async)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            stop_own_loop(self._loop, self._thread, "sandbox server")

    # --- acting as people (thread-safe) -----------------------------------------

    def person(self, user_id: int, first_name: str, username: str | None = None) -> Person:
        person = Person(user_id, first_name, username)
        with self._lock:
            self.state.chats.setdefault(user_id, {"id": user_id, "type": "private", "first_name": first_name})
        return person

    def group(self, chat_id: int, title: str) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup" if str(chat_id).startswith("-100") else "group", "title": title}
        with self._lock:
            self.state.chats[chat_id] = chat
        return chat

    def send_text(self, person: Person, text: str, *, chat_id: int | None = None,
                  reply_to: dict[str, Any] | None = None) -> int | None:
        """The person writes in a chat (``reply_to``: as a reply to that message). The update's id,
        or None when the bot never receives it (a group's plain talk under privacy mode)."""
        message = self._incoming_message(person, chat_id, reply_to)
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push({"message": message})

    def set_privacy(self, enabled: bool) -> None:
        """BotFather's /setprivacy for this bot: Enable (Telegram's default) or Disable."""
        with self._lock:
            self.state.privacy = enabled

    def set_admin(self, chat_id: int, admin: bool) -> None:
        """The bot made an administrator of a group (or no longer one): an administrator hears everything."""
        with self._lock:
            (self.state.bot_admin_in.add if admin else self.state.bot_admin_in.discard)(chat_id)

    def edit_text(self, person: Person, text: str, *, chat_id: int | None = None) -> int:
        """The person edits the last message they sent in the chat: Telegram sends it again,
        whole, as an ``edited_message`` update."""
        chat = chat_id if chat_id is not None else person.id
        with self._lock:
            sent = [m for m in self.state.messages[chat].values() if m["from"]["id"] == person.id]
        if not sent:
            raise LookupError(f"{person.first_name} has sent nothing to chat {chat}")
        edited = {key: value for key, value in sent[-1].items() if key != "entities"}
        edited.update(text=text, edit_date=int(time.time()))
        if text.startswith("/"):
            edited["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._push({"edited_message": edited})

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue an update as given (an update_id is added): for updates no person could make."""
        return self._push(update)

    def continue_update_ids(self, after: int) -> None:
        """Number the next updates after ``after``: Telegram's ids go on rising while a bot
        restarts, and a bot that keeps the ids it has seen takes a repeated one for a resend."""
        with self._lock:
            self.state.next_update_id = max(self.state.next_update_id, after + 1)

    def send_photo(self, person: Person, data: bytes, *, caption: str = "", chat_id: int | None = None,
                   reply_to: dict[str, Any] | None = None) -> int | None:
        file_id = self._store_file(data, "photo.jpg", "image/jpeg")
        message = self._incoming_message(person, chat_id, reply_to)
        message["photo"] = [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 600,
                             "file_size": len(data)}]
        if caption:
            message["caption"] = caption
        return self._push({"message": message})

    def send_document(self, person: Person, data: bytes, name: str, mime_type: str, *, caption: str = "",
                      chat_id: int | None = None, declared_size: int | None = None,
                      reply_to: dict[str, Any] | None = None) -> int | None:
        file_id = self._store_file(data, name, mime_type)
        message = self._incoming_message(person, chat_id, reply_to)
        message["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
                               "mime_type": mime_type, "file_size": declared_size or len(data)}
        if caption:
            message["caption"] = caption
        return self._push({"message": message})

    def tap(self, person: Person, message: dict[str, Any], button_text: str) -> int:
        """Tap the inline button with this label on a message the bot sent."""
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == button_text:
                    return self.tap_data(person, message, button["callback_data"])
        raise LookupError(f"no button {button_text!r} on message {message.get('message_id')}")

    def tap_data(self, person: Person, message: dict[str, Any], data: str) -> int:
        query = {"id": str(next(self._ids)), "from": person.as_user(), "message": message,
                 "chat_instance": str(message["chat"]["id"]), "data": data}
        return self._push({"callback_query": query})

    def messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return self._sent_to(chat_id)

    def wait_for(self, chat_id: int, *, after: int = 0, count: int = 1, timeout: float = 10.0,
                 predicate: Callable[[dict[str, Any]], bool] = lambda _m: True) -> list[dict[str, Any]]:
        """Wait until the bot has sent ``count`` matching messages to the chat (beyond the first ``after``)."""
        def matching() -> list[dict[str, Any]]:  # called with the lock held
            return [m for m in self._sent_to(chat_id)[after:] if predicate(m)]

        with self._message_recorded:
            if self._message_recorded.wait_for(lambda: len(matching()) >= count, timeout):
                return matching()
        texts = [m.get("text") or m.get("caption") for m in self.messages(chat_id)]
        raise TimeoutError(f"chat {chat_id}: wanted {count} messages after {after}, have {texts}")

    def _sent_to(self, chat_id: int | None) -> list[dict[str, Any]]:
        """What the bot sent to the chat (or to anyone), in order; the caller holds the lock."""
        return [m for m in self.state.sent if chat_id is None or m["chat"]["id"] == chat_id]

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def block(self, user_id: int) -> None:
        """The person blocks the bot: every later message to them is refused with 403."""
        with self._lock:
            self.state.blocked.add(user_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """A group becomes a supergroup with a new id, as Telegram does."""
        with self._lock:
            self.state.migrated[chat_id] = new_chat_id
            chat = dict(self.state.chats.get(chat_id, {"title": "群聊"}))
            chat.update({"id": new_chat_id, "type": "supergroup"})
            self.state.chats[new_chat_id] = chat

    # --- internals: incoming updates ------------------------------------------------

    def _incoming_message(self, person: Person, chat_id: int | None,
                          reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            chat = self.state.chats.get(chat_id if chat_id is not None else person.id)
            if chat is None:
                raise LookupError(f"unknown chat {chat_id}")
            message_id = self._next_message_id(chat["id"])
        message = {"message_id": message_id, "from": person.as_user(), "chat": dict(chat), "date": int(time.time())}
        if reply_to is not None:
            message["reply_to_message"] = {key: value for key, value in reply_to.items()
                                           if key not in ("html", "reply_to_message")}
        return message

    def _reaches_bot(self, message: dict[str, Any]) -> bool:
        """Whether Telegram gives the bot this message; the caller holds the lock. Under privacy
        mode a group gives it only what is meant for it: a command (one bot in the group, so no
        /command@other_bot), a message naming it (@username), a reply to one of its messages.
        An administrator, or a bot with privacy disabled, hears everything; a private chat always."""
        if message["chat"]["type"] == "private" or not self.state.privacy:
            return True
        if message["chat"]["id"] in self.state.bot_admin_in:
            return True
        words = message.get("text") or message.get("caption") or ""
        replied = message.get("reply_to_message") or {}
        return (words.startswith("/") or f"@{BOT_USER['username']}" in words
                or (replied.get("from") or {}).get("id") == BOT_USER["id"])

    def _next_message_id(self, chat_id: int) -> int:
        return max(self.state.messages[chat_id], default=0) + 1 if chat_id in self.state.messages else 1

    def _store_file(self, data: bytes, name: str, mime: str) -> str:
        file_id = f"F{next(self._ids):06d}"
        with self._lock:
            self.state.files[file_id] = (data, name, mime)
        return file_id

    def _push(self, body: dict[str, Any]) -> int | None:
        with self._lock:
            if "message" in body:
                message = body["message"]
                self.state.messages[message["chat"]["id"]][message["message_id"]] = message
                if not self._reaches_bot(message):  # the group sees it; the bot never does
                    self.state.withheld.append(message)
                    return None
            update = {"update_id": self.state.next_update_id, **body}
            self.state.next_update_id += 1
            self.state.updates.append(update)
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
        return update["update_id"]

    # --- internals: the Bot API -----------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
            # getUpdates is served by _api_get_updates, sendMessage by _api_send_message, …
            handler = getattr(self, "_api_" + re.sub(r"([A-Z])", r"_\1", method).lower(), None)
            if handler is None:
                raise ApiError(404, "Not Found")
            with self._on_the_wire(method, params.get("chat_id")):
                await self._half_trip(method)  # the request travelling here
                await self._apply_fault(method, params)
                self._check_flood(method, params)
                result = await handler(params, files)
        except ApiError as error:
            with self._lock:
                self.state.rejected.append((method, error.code, error.description))
            return await self._answer(self._error(error), method)
        return await self._answer(web.json_response({"ok": True, "result": result}), method)

    @contextlib.contextmanager
    def _on_the_wire(self, method: str, chat_id: Any) -> Iterator[None]:
        """Counts send calls under way, to show a sender overlaps them, and never for one chat."""
        if method not in SEND_METHODS:
            yield
            return
        chat = _numeric_chat(chat_id)
        with self._lock:
            if self.state.sending[chat]:
                self.state.overlapped.append(chat)
            self.state.sending[chat] += 1
            self.state.most_sending = max(self.state.most_sending, self.state.sending.total())
        try:
            yield
        finally:
            with self._lock:
                self.state.sending[chat] -= 1

    async def _answer(self, response: web.Response, method: str) -> web.Response:
        await self._half_trip(method)  # the answer travelling back
        return response

    async def _half_trip(self, method: str) -> None:
        """Half of ``round_trip`` on the wire (a long poll waits for updates, not for the network)."""
        if self.round_trip and method != "getUpdates":
            await asyncio.sleep(self.round_trip / 2)

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.code)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[bytes, str, str]]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, tuple[bytes, str, str]] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
            return params, files
        if request.can_read_body:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = (value.file.read(), value.filename, value.content_type)
                else:
                    params[name] = value
        for name in list(params):
            if name in JSON_FIELDS and isinstance(params[name], str):
                try:
                    params[name] = json.loads(params[name])
                except json.JSONDecodeError as error:
                    raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from error
        return params, files

    async def _apply_fault(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        with self._lock:
            fault = next((f for f in self.faults if f.method == method and f.times > 0
                          and (f.chat_id is None or f.chat_id == chat_id)), None)
            if fault is not None:
                fault.times -= 1
        if fault is None:
            return
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return
        if fault.kind == "429":
            raise ApiError(429, f"Too Many Requests: retry after {fault.retry_after}",
                           {"retry_after": fault.retry_after})
        if fault.kind == "500":
            raise ApiError(500, "Internal Server Error")
        if fault.kind == "403":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if fault.kind == "migrate":
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": fault.migrate_to_chat_id})
        raise ApiError(400, "Bad Request: injected fault")

    def _check_flood(self, method: str, params: dict[str, Any]) -> None:
        if method not in SEND_METHODS:
            return
        now = self.monotonic()
        chat_id = params.get("chat_id")
        with self._lock:
            self.state.calls.append((now, method, chat_id))
            limits = self.flood_limits
            if limits is None:
                return
            while self._sent_times and now - self._sent_times[0] >= 1.0:
                self._sent_times.popleft()
            chat_times = self._chat_times[chat_id]
            group = _numeric_chat(chat_id) < 0
            while chat_times and now - chat_times[0] >= limits.window(group):
                chat_times.popleft()
            wait = wait_needed(limits, now, self._sent_times, chat_times, group)
            if wait <= 0:
                self._sent_times.append(now)
                chat_times.append(now)
                return
        retry_after = max(1, int(wait + 0.999))
        raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, TypeError, ValueError) as error:
            raise ApiError(400, "Bad Request: chat_id is empty") from error
        with self._lock:
            if chat_id in self.state.migrated:
                raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                               {"migrate_to_chat_id": self.state.migrated[chat_id]})
            if chat_id in self.state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    @staticmethod
    def _check_text(text: Any, parse_mode: str | None, limit: int, *, required: bool = True) -> tuple[str, str]:
        """(visible text, text as sent): Telegram returns what the reader sees, tags removed."""
        if text is None or text == "":
            if required:
                raise ApiError(400, "Bad Request: message text is empty")
            return "", ""
        text = str(text)
        visible = text
        if parse_mode and parse_mode.upper() == "HTML":
            try:
                visible = visible_text(text)
            except HtmlError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from error
        elif parse_mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode} in this sandbox")
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        return visible, text

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard", []), list):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _record_sent(self, chat: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message_id = self._next_message_id(chat["id"])
            message = {"message_id": message_id, "from": BOT_USER, "chat": dict(chat), "date": int(time.time()),
                       **{k: v for k, v in body.items() if v is not None}}
            self.state.messages[chat["id"]][message_id] = message
            self.state.sent.append(message)
            self._message_recorded.notify_all()
        return message

    async def _api_get_me(self, _params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {**BOT_USER, "can_read_all_group_messages": not self.state.privacy}

    async def _api_get_chat_member(self, params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        user_id = int(params.get("user_id") or 0)
        with self._lock:
            admin = user_id == BOT_USER["id"] and chat["id"] in self.state.bot_admin_in
            user = BOT_USER if user_id == BOT_USER["id"] else {"id": user_id, "is_bot": False, "first_name": "成员"}
        if not admin:
            return {"status": "member", "user": user}
        rights = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                  "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
                  "can_edit_stories", "can_delete_stories")
        return {"status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False,
                **{right: right != "can_promote_members" for right in rights}}

    async def _api_delete_webhook(self, params: dict[str, Any], _files: dict[str, Any]) -> bool:
        await self._stop_webhook()
        if params.get("drop_pending_updates"):
            with self._lock:
                self.state.updates.clear()
        return True

    async def _api_set_webhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:  # an empty URL removes the webhook
            return await self._api_delete_webhook(params, files)
        secret = params.get("secret_token")
        if secret is not None and not SECRET_PATTERN.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if problem := webhook_url_problem(url):
            raise ApiError(400, f"Bad Request: {problem}")
        await self._api_delete_webhook(params, files)
        self.webhook = WebhookPusher(url, str(secret) if secret else None, self._oldest_update, self._drop_update,
                                     self._wait_for_updates)
        self._webhook_task = asyncio.get_running_loop().create_task(self.webhook.run())
        return True

    async def _api_get_webhook_info(self, _params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            pending = len(self.state.updates)
        info: dict[str, Any] = {"url": self.webhook.url if self.webhook else "", "has_custom_certificate": False,
                                "pending_update_count": pending}
        if self.webhook and self.webhook.last_error:
            info.update(last_error_date=int(time.time()), last_error_message=self.webhook.last_error)
        return info

    async def _stop_webhook(self) -> None:
        pusher, self.webhook = self.webhook, None
        if pusher is not None:
            # Told in words as well as by cancel(): on Python 3.11 asyncio.wait_for drops a
            # cancellation that arrives as the event it waits on is set, which stopping does.
            pusher.stopped = True
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None

    def _oldest_update(self) -> dict[str, Any] | None:
        with self._lock:
            return self.state.updates[0] if self.state.updates else None

    def _drop_update(self, update_id: int) -> None:
        with self._lock:
            self.state.updates = [u for u in self.state.updates if u["update_id"] != update_id]

    async def _wait_for_updates(self, timeout: float) -> None:
        """Return when an update is waiting, or after ``timeout`` seconds.

        It always gives the event loop a turn, even when it can return at once: the webhook
        pusher loops on it, and a loop that never suspended would hold the server's thread (and
        the process's GIL) with no chance for the stop to reach it."""
        assert self._new_update is not None
        self._new_update.clear()  # cleared before looking, so a push in between is not missed
        with self._lock:
            waiting = bool(self.state.updates) or self._stopping
        if waiting:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._new_update.wait(), timeout)

    async def _api_set_my_commands(self, params: dict[str, Any], _files: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 BotCommand")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.islower() and name.replace("_", "").isalnum()
                    and 1 <= len(description) <= 256):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        scope = params.get("scope") or {"type": "default"}
        with self._lock:
            self.state.commands[json.dumps(scope, sort_keys=True)] = commands
        return True

    async def _api_get_updates(self, params: dict[str, Any], _files: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if offset:
                    self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
                ready = self.state.updates[:limit]
                if ready or self._stopping or time.monotonic() >= deadline:
                    return ready
            await self._wait_for_updates(max(0.0, deadline - time.monotonic()))

    async def _api_send_message(self, params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text, sent_as = self._check_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT)
        markup = self._check_markup(params.get("reply_markup"))
        # Kept as received, so that a test sees whether the bot asked for no link preview.
        return self._record_sent(chat, {"text": text, "html": sent_as, "reply_markup": markup,
                                        "link_preview_options": params.get("link_preview_options")})

    async def _send_media(self, kind: str, params: dict[str, Any], files: dict[str, tuple[bytes, str, str]]
                          ) -> dict[str, Any]:
        chat = self._target_chat(params)
        caption, _sent_as = self._check_text(params.get("caption"), params.get("parse_mode"), CAPTION_LIMIT,
                                             required=False)
        markup = self._check_markup(params.get("reply_markup"))
        if kind in files:
            data, name, mime = files[kind]
            file_id = self._store_file(data, name or kind, mime or "application/octet-stream")
        elif isinstance(params.get(kind), str) and params[kind] in self.state.files:
            file_id = params[kind]
            data, name, mime = self.state.files[file_id]
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        media: Any = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data)}
        if kind == "document":
            media.update({"file_name": name, "mime_type": mime})
        else:
            media = [{**media, "width": 800, "height": 600}]
        return self._record_sent(chat, {kind: media, "caption": caption or None, "reply_markup": markup})

    async def _api_send_document(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media("document", params, files)

    async def _api_send_photo(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media("photo", params, files)

    def _stored_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        with self._lock:
            message = self.state.messages[chat["id"]].get(int(params.get("message_id") or 0))
        if message is None or message["from"]["id"] != BOT_USER["id"]:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    async def _api_edit_message_text(self, params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        message = self._stored_message(params)
        text, sent_as = self._check_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT)
        markup = self._check_markup(params.get("reply_markup"))
        if sent_as == message.get("html") and markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        with self._lock:
            message.update({"text": text, "html": sent_as, "reply_markup": markup, "edit_date": int(time.time())})
        return message

    async def _api_edit_message_reply_markup(self, params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        message = self._stored_message(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        with self._lock:
            message.update({"reply_markup": markup, "edit_date": int(time.time())})
        return message

    async def _api_answer_callback_query(self, params: dict[str, Any], _files: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            self.state.callback_answers.append(params)
        return True

    async def _api_get_file(self, params: dict[str, Any], _files: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        with self._lock:
            stored = self.state.files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        data, name, _mime = stored
        if len(data) > 20 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data),
                "file_path": f"files/{file_id}/{name}"}

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        parts = request.match_info["path"].split("/")
        with self._lock:
            stored = self.state.files.get(parts[1]) if len(parts) >= 2 else None
        if stored is None:
            return web.Response(status=404)
        return web.Response(body=stored[0], content_type=stored[2])

    # --- internals: the control side over HTTP (for a person at another terminal) ----------

    async def _control_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        person = self.person(int(body["user_id"]), body.get("name", "用户"))
        update_id = await asyncio.to_thread(self.send_text, person, str(body["text"]), chat_id=body.get("chat_id"))
        return web.json_response({"ok": True, "update_id": update_id})

    async def _control_tap(self, request: web.Request) -> web.Response:
        body = await request.json()
        person = self.person(int(body["user_id"]), body.get("name", "用户"))
        chat_id = int(body.get("chat_id") or person.id)
        with self._lock:
            message = self.state.messages[chat_id][int(body["message_id"])]
        update_id = self.tap_data(person, message, str(body["data"]))
        return web.json_response({"ok": True, "update_id": update_id})

    async def _control_messages(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        return web.json_response(self.messages(int(chat_id) if chat_id else None))


def _numeric_chat(chat_id: Any) -> int:
    """A call's chat_id as read from its JSON parameters; 0 for a username or nothing (an unknown
    chat fails later, as a 400)."""
    return chat_id if isinstance(chat_id, int) else 0
