"""A local Feishu open platform: the test double and sandbox for Feishu's long connection and IM API.

It speaks Feishu's side as the official ``lark-oapi`` SDK sees it:

- ``POST /callback/ws/endpoint`` with ``{"AppID", "AppSecret"}``: answers the WebSocket URL (with the
  ``device_id`` and ``service_id`` the SDK reads from it, and a one-use ticket) and the ``ClientConfig``
  (reconnect count, interval, jitter and ping interval) the SDK obeys;
- the WebSocket at ``/ws/v2``: binary frames in the protobuf schema ``pbbp2.Frame`` (encoded and decoded
  here by hand, independently of the SDK's generated module), control frames ``ping``/``pong`` (the pong
  carries the ClientConfig again) and data frames of type ``event`` carrying the platform's event JSON
  (``im.message.receive_v1``) and of type ``card`` carrying card callbacks (``card.action.trigger``),
  as Feishu sends them (lark-oapi's own client drops ``card`` frames unanswered); the SDK's answer
  frame (same headers plus ``biz_rt``, payload ``{"code": 200, "data": base64}``) is read and recorded
  as the acknowledgement.
  An event not acknowledged within ``ack_timeout`` (Feishu's three seconds) is pushed again, and one
  not acknowledged when its connection goes is sent on the next; a card tap not answered in time is an
  error the person sees (``unanswered_taps``), as in Feishu, which does not push a tap again;
- ``POST /open-apis/auth/v3/tenant_access_token/internal``, ``GET /open-apis/bot/v3/info``,
  ``GET /open-apis/contact/v3/users/:user_id`` (a person: name, and from the organisation's directory
  (an ``Organisation``, bot/sandbox/organisation.py) ``mobile`` as "+86…" and ``department_ids`` by
  ``department_id_type``, "0" for one directly under the tenant; 41050 outside the contacts range),
  ``GET /open-apis/contact/v3/departments/:department_id/children`` (``fetch_child``, ``page_size`` up
  to 50 with ``has_more``/``page_token``; items with ``name``, ``department_id``, ``open_department_id``,
  ``parent_department_id``; 40004 for a department it does not have),
  ``GET /open-apis/contact/v3/departments/parent`` (``department_id``: the departments above it, nearest
  first, the tenant left out, paged as children are; 40004 for a department it does not have);
  99991672 with the scopes it needs for every contact call once the app's contact permission is
  withdrawn (``Organisation.denied``);
  ``POST /open-apis/im/v1/messages?receive_id_type=…`` (recorded, checked as Feishu checks: content is a
  JSON string of the msg_type's shape, size limits, the receiver exists, the bot is in the group, the
  person is in the app's availability), ``GET /open-apis/im/v1/messages/:message_id/resources/:file_key``;
- Feishu's error answers: HTTP status plus ``{"code": N, "msg": "…"}`` with Feishu's own codes
  (99991400 rate limit with ``x-ogw-ratelimit-reset``, 99991661/99991663 missing/invalid token,
  10014 wrong app secret, 230001 bad parameter, 230002 bot not in the group, 230013 person outside the
  app's availability, 230025 too long, 99992361 an open_id not of this app, 234003 file not in message).

Faults: drop the WebSocket, the next N sends answer a 5xx, are rate limited, or hang; tokens revoked.
The control side acts as people: say text (in a p2p chat or @-ing the bot in a group), send a file or
picture, tap a card button, and read what the bot sent.

It is never part of production traffic.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web

from bot.sandbox.organisation import Organisation, OrgDepartment, sandbox_organisation
from bot.sandbox.threaded import start_on_own_loop, stop_own_loop

# Frame.method: a control frame (ping/pong) or a data frame (event/card).
FRAME_CONTROL = 0
FRAME_DATA = 1
# The text message body is limited to 150 KB, a card or rich text body to 30 KB (Feishu's 230025).
TEXT_BODY_LIMIT = 150 * 1024
CARD_BODY_LIMIT = 30 * 1024
MSG_TYPES = {"text", "post", "image", "file", "audio", "media", "sticker", "interactive", "share_chat", "share_user",
             "system"}
RECEIVE_ID_TYPES = {"open_id", "union_id", "user_id", "email", "chat_id"}
ROOT_DEPARTMENT = "0"  # the tenant itself, in both kinds of department id
DEPARTMENT_PAGE_LIMIT = 50
CONTACT_SCOPES = ("contact:contact.base:readonly", "contact:contact:readonly_as_app",
                  "contact:department.base:readonly")
EVENT_PUSHES = 3  # how many times an unanswered event is pushed before Feishu gives up on it here
# What Feishu's long-connection endpoint answers by default: its real reconnect and ping settings.
REAL_CLIENT_CONFIG = {"ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30, "PingInterval": 120}
# For tests: reconnect at once, and a ping every second.
FAST_CLIENT_CONFIG = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1}


# --- pbbp2.Frame, protobuf wire format (proto2) ---------------------------------------------------
# message Header { required string key = 1; required string value = 2; }
# message Frame { required uint64 SeqID = 1; required uint64 LogID = 2; required int32 service = 3;
#   required int32 method = 4; repeated Header headers = 5; optional string payload_encoding = 6;
#   optional string payload_type = 7; optional bytes payload = 8; optional string LogIDNew = 9; }


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int32/uint64 negatives are ten-byte two's complement varints
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def encode_frame(frame: dict[str, Any]) -> bytes:
    """A ``pbbp2.Frame`` from a dict with the schema's field names; headers as a list of (key, value)."""
    out = bytearray()
    out += _field_varint(1, frame.get("SeqID", 0))
    out += _field_varint(2, frame.get("LogID", 0))
    out += _field_varint(3, frame.get("service", 0))
    out += _field_varint(4, frame.get("method", 0))
    for key, value in frame.get("headers", []):
        header = _field_bytes(1, key.encode()) + _field_bytes(2, value.encode())
        out += _field_bytes(5, header)
    for number, name in ((6, "payload_encoding"), (7, "payload_type")):
        if frame.get(name) is not None:
            out += _field_bytes(number, frame[name].encode())
    if frame.get("payload") is not None:
        out += _field_bytes(8, frame["payload"])
    if frame.get("LogIDNew") is not None:
        out += _field_bytes(9, frame["LogIDNew"].encode())
    return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    fields: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _read_varint(data, at)
            fields.append((number, value))
        elif wire == 2:
            length, at = _read_varint(data, at)
            if at + length > len(data):
                raise ValueError("truncated field")
            fields.append((number, data[at:at + length]))
            at += length
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return fields


def decode_frame(data: bytes) -> dict[str, Any]:
    """The dict ``encode_frame`` takes, from a frame's bytes; required fields checked as proto2 does."""
    frame: dict[str, Any] = {"headers": []}
    names = {1: "SeqID", 2: "LogID", 3: "service", 4: "method", 6: "payload_encoding", 7: "payload_type",
             8: "payload", 9: "LogIDNew"}
    for number, value in _fields(data):
        if number == 5 and isinstance(value, bytes):
            header = dict(_fields(value))
            frame["headers"].append((bytes(header.get(1, b"")).decode(), bytes(header.get(2, b"")).decode()))
        elif number in (3, 4) and isinstance(value, int):
            frame[names[number]] = value - (1 << 64) if value >= 1 << 63 else value
        elif number in names:
            frame[names[number]] = value.decode() if number in (6, 7, 9) and isinstance(value, bytes) else value
    missing = [name for name in ("SeqID", "LogID", "service", "method") if name not in frame]
    if missing:
        raise ValueError(f"frame lacks required fields {missing}")
    return frame


def frame_header(frame: dict[str, Any], key: str) -> str | None:
    for k, v in frame["headers"]:
        if k == key:
            return v
    return None


def _frame_key(frame: bytes) -> tuple[str, str]:
    decoded = decode_frame(frame)
    return frame_header(decoded, "message_id") or "", frame_header(decoded, "seq") or "0"


def _ids_of(parts: list[bytes]) -> tuple[str, str]:
    """(event_id, the IM message_id if a message event) of an event sent as these frames."""
    decoded = sorted((decode_frame(p) for p in parts), key=lambda f: int(frame_header(f, "seq") or 0))
    try:
        body = json.loads(b"".join(f.get("payload", b"") for f in decoded))
    except ValueError:
        return "", ""
    return body.get("header", {}).get("event_id", ""), body.get("event", {}).get("message", {}).get("message_id", "")


# --- the platform's state ---------------------------------------------------------------------------


class FeishuApiError(Exception):
    """A refusal in Feishu's shape: HTTP status, business code, message."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


def _hex(n: int) -> str:
    return secrets.token_hex(n // 2)


@dataclass
class Person:
    open_id: str
    name: str
    union_id: str = field(default_factory=lambda: "on_" + _hex(32))
    user_id: str = field(default_factory=lambda: _hex(8))
    p2p_chat_id: str = field(default_factory=lambda: "oc_" + _hex(32))
    available: bool = True  # inside the app's availability (可用范围)
    in_contacts: bool = True  # inside the app's contacts range (通讯录权限范围): its name can be read


@dataclass
class Group:
    chat_id: str
    name: str
    bot_in: bool = True


@dataclass
class Connection:
    ws: web.WebSocketResponse
    device_id: str
    service_id: int
    number: int
    unacked: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (message_id, seq) → the frame as sent


class FeishuDouble:
    """Feishu's open platform on 127.0.0.1 for one app (one bot)."""

    def __init__(self, app_id: str = "cli_a1b2c3d4e5f60001", app_secret: str = "sandbox-app-secret", *,
                 bot_name: str = "督办助手", client_config: dict[str, Any] | None = None,
                 ack_timeout: float | None = 3.0, organisation: Organisation | None = None) -> None:
        self.app_id = app_id
        self.organisation = organisation if organisation is not None else sandbox_organisation()
        self.app_secret = app_secret
        self.bot_name = bot_name
        self.bot_open_id = "ou_" + _hex(32)
        self.tenant_key = _hex(16)
        self.client_config = dict(client_config or REAL_CLIENT_CONFIG)
        self.service_id = 33554678
        self.people: dict[str, Person] = {}
        self.groups: dict[str, Group] = {}
        self.sent: list[dict[str, Any]] = []  # messages the bot sent, in order
        self.acks: list[dict[str, Any]] = []  # the SDK's answers to data frames
        self.ack_timeout = ack_timeout  # Feishu waits this long for an answer to a data frame
        self.unanswered_taps: list[str] = []  # event_ids of card taps nobody answered in time
        self.dropped_events: list[str] = []  # event_ids pushed EVENT_PUSHES times without an answer
        self.pings = 0
        self.connections_made = 0
        self.endpoint_calls = 0
        self.token_requests = 0
        self.files: dict[tuple[str, str], tuple[bytes, str]] = {}  # (message_id, key) → (data, name)
        self._tokens: set[str] = set()
        self._tickets: dict[str, str] = {}  # device_id → ticket, each good for one connection
        self._conn: Connection | None = None
        self._waiting: deque[bytes] = deque()  # frames for the next connection
        self._seq = itertools.count(1)
        self._faults: deque[tuple[str, dict[str, Any]]] = deque()
        self._pushing: set[asyncio.Future[None]] = set()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self.port = 0

    # --- running ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws/v2", self._websocket)
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._tenant_token)
        app.router.add_get("/open-apis/bot/v3/info", self._bot_info)
        app.router.add_get("/open-apis/contact/v3/users/{user_id}", self._user)
        app.router.add_get("/open-apis/contact/v3/departments/{department_id}/children", self._department_children)
        app.router.add_get("/open-apis/contact/v3/departments/parent", self._department_parent)
        app.router.add_post("/open-apis/im/v1/messages", self._create_message)
        app.router.add_get("/open-apis/im/v1/messages/{message_id}/resources/{file_key}", self._resource)
        return app

    async def start_async(self, port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop_async(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self, port: int = 0) -> FeishuDouble:
        self._thread = start_on_own_loop("feishu-double", lambda: self.start_async(port), self.stop_async)
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None:
            stop_own_loop(self._loop, self._thread, "Feishu double")
            self._thread = None

    def _on_loop(self, coro_factory: Callable[[], Any]) -> None:
        """Run a coroutine on the double's loop, from any thread, and wait for it."""
        assert self._loop is not None, "the double is not running"
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._loop.create_task(coro_factory())
        else:
            asyncio.run_coroutine_threadsafe(coro_factory(), self._loop).result(10)

    # --- people and chats -----------------------------------------------------------------------------

    def person(self, open_id: str | None = None, name: str = "") -> Person:
        with self._lock:
            open_id = open_id or "ou_" + _hex(32)
            if open_id not in self.people:
                known = self.organisation.people.get(open_id)
                self.people[open_id] = Person(open_id, name or (known.name if known else "") or open_id)
            return self.people[open_id]

    def group(self, chat_id: str | None = None, name: str = "工作群") -> Group:
        with self._lock:
            chat_id = chat_id or "oc_" + _hex(32)
            if chat_id not in self.groups:
                self.groups[chat_id] = Group(chat_id, name)
            return self.groups[chat_id]

    def remove_bot_from(self, chat_id: str) -> None:
        with self._lock:
            self.group(chat_id).bot_in = False

    def make_unavailable(self, open_id: str) -> None:
        """The person is taken out of the app's availability (可用范围)."""
        with self._lock:
            self.person(open_id).available = False

    # --- people acting ----------------------------------------------------------------------------------

    def person_says(self, open_id: str, text: str, chat: str | None = None, at_bot: bool = False,
                    at: tuple[str, ...] = ()) -> str:
        """The person writes ``text``; in ``chat`` (a group's chat_id) or to the bot directly.

        ``at_bot`` puts an @ of the bot before the text, ``at`` @s other people (by open_id), as the
        Feishu client writes them: ``@_user_N`` keys in the text and the ``mentions`` list.
        Returns the message_id.
        """
        mentions: list[dict[str, Any]] = []
        prefix = []
        targets = ([("bot", self.bot_open_id, self.bot_name)] if at_bot else []) + [
            ("user", oid, self.person(oid).name) for oid in at]
        for n, (_kind, oid, name) in enumerate(targets, start=1):
            key = f"@_user_{n}"
            prefix.append(key)
            person = self.people.get(oid)
            mentions.append({"key": key, "id": {"open_id": oid, "union_id": person.union_id if person else "",
                                                "user_id": person.user_id if person else ""},
                             "name": name, "tenant_key": self.tenant_key})
        content = {"text": " ".join([*prefix, text]) if prefix else text}
        return self._message(open_id, chat, "text", content, mentions)

    def person_posts(self, open_id: str, title: str, lines: list[str], chat: str | None = None,
                     at_bot: bool = False) -> str:
        """The person sends rich text (``post``): a title and lines, the first starting with an @ of the bot."""
        paragraphs: list[list[dict[str, Any]]] = [[{"tag": "text", "text": line, "style": []}] for line in lines]
        mentions = []
        if at_bot:
            paragraphs[0].insert(0, {"tag": "at", "user_id": "@_user_1", "user_name": self.bot_name, "style": []})
            mentions.append({"key": "@_user_1", "id": {"open_id": self.bot_open_id, "union_id": "", "user_id": ""},
                             "name": self.bot_name, "tenant_key": self.tenant_key})
        return self._message(open_id, chat, "post", {"title": title, "content": paragraphs}, mentions)

    def person_sends_file(self, open_id: str, data: bytes, name: str, *, kind: str = "file",
                          chat: str | None = None) -> tuple[str, str]:
        """The person sends a file (``kind="file"``) or a picture (``kind="image"``); (message_id, key)."""
        if kind == "image":
            key = "img_v3_" + _hex(32)
            content = {"image_key": key}
        else:
            key = "file_v3_" + _hex(32)
            content = {"file_key": key, "file_name": name}
        message_id = "om_" + _hex(32)
        with self._lock:
            self.files[(message_id, key)] = (data, name)
        self._message(open_id, chat, kind, content, [], message_id=message_id)
        return message_id, key

    def person_taps(self, open_id: str, value: dict[str, Any], chat: str | None = None,
                    message_id: str | None = None) -> str:
        """The person taps a card's button whose ``value`` is ``value``; returns the event_id."""
        person = self.person(open_id)
        chat_id = chat or person.p2p_chat_id
        if message_id is None:
            with self._lock:
                cards = [m for m in self.sent if m["chat_id"] == chat_id and m["msg_type"] == "interactive"]
            message_id = cards[-1]["message_id"] if cards else "om_" + _hex(32)
        event = {"operator": {"tenant_key": self.tenant_key, "user_id": person.user_id, "open_id": open_id,
                              "union_id": person.union_id},
                 "token": "c-" + _hex(40),
                 "action": {"value": value, "tag": "button"},
                 "host": "im_message",
                 "context": {"open_message_id": message_id, "open_chat_id": chat_id}}
        # Feishu sends a card callback over the long connection as a data frame of type "card", not "event".
        return self._push_event("card.action.trigger", event, frame_type="card")

    def _message(self, open_id: str, chat: str | None, message_type: str, content: dict[str, Any],
                 mentions: list[dict[str, Any]], message_id: str | None = None) -> str:
        person = self.person(open_id)
        now = str(int(time.time() * 1000))
        message_id = message_id or "om_" + _hex(32)
        message: dict[str, Any] = {
            "message_id": message_id, "root_id": "", "parent_id": "", "create_time": now, "update_time": now,
            "chat_id": chat or person.p2p_chat_id, "chat_type": "group" if chat else "p2p",
            "message_type": message_type, "content": json.dumps(content, ensure_ascii=False)}
        if mentions:
            message["mentions"] = mentions
        event = {"sender": {"sender_id": {"union_id": person.union_id, "user_id": person.user_id,
                                          "open_id": open_id},
                            "sender_type": "user", "tenant_key": self.tenant_key},
                 "message": message}
        self._push_event("im.message.receive_v1", event)
        return message_id

    def _push_event(self, event_type: str, event: dict[str, Any], *, event_id: str | None = None,
                    frame_type: str = "event") -> str:
        event_id = event_id or _hex(32)
        body = {"schema": "2.0",
                "header": {"event_id": event_id, "token": "", "create_time": str(int(time.time() * 1000)),
                           "event_type": event_type, "tenant_key": self.tenant_key, "app_id": self.app_id},
                "event": event}
        payload = json.dumps(body, ensure_ascii=False).encode()
        with self._lock:
            copies = 2 if self._take_fault("duplicate") else 1
            parts = self._take_fault("split")
        for _ in range(copies):
            frames = self._data_frames(payload, parts["into"] if parts else 1, frame_type)
            self._on_loop(lambda frames=frames: self._deliver(frames))
        return event_id

    def _data_frames(self, payload: bytes, parts: int, frame_type: str) -> list[bytes]:
        message_id = _hex(16)
        trace_id = _hex(16)
        size = -(-len(payload) // parts)
        chunks = [payload[i * size:(i + 1) * size] for i in range(parts)]
        return [encode_frame({"SeqID": next(self._seq), "LogID": next(self._seq), "service": self.service_id,
                              "method": FRAME_DATA,
                              "headers": [("type", frame_type), ("message_id", message_id), ("sum", str(parts)),
                                          ("seq", str(n)), ("trace_id", trace_id)],
                              "payload": chunk})
                for n, chunk in enumerate(chunks)]

    async def _deliver(self, frames: list[bytes]) -> None:
        conn = self._conn
        if conn is None or conn.ws.closed:
            self._waiting.extend(frames)
            return
        for frame in frames:
            await self._send(conn, frame)

    async def _send(self, conn: Connection, frame: bytes, pushes: int = 1) -> None:
        key = _frame_key(frame)
        conn.unacked[key] = frame
        await conn.ws.send_bytes(frame)
        if self.ack_timeout is not None and self._loop is not None:
            self._loop.call_later(self.ack_timeout, self._overdue, conn, key, pushes)

    def _overdue(self, conn: Connection, key: tuple[str, str], pushes: int) -> None:
        """No answer in time: Feishu pushes an event again (a few times); a card tap it gives up on at once."""
        frame = conn.unacked.get(key)
        if frame is None or conn.ws.closed:
            return
        if frame_header(decode_frame(frame), "type") == "card" or pushes >= EVENT_PUSHES:
            self._give_up(conn.unacked.pop(key))
            return
        task = asyncio.ensure_future(self._send(conn, frame, pushes + 1))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    def _give_up(self, frame: bytes) -> None:
        with self._changed:
            event_id, _ = _ids_of([frame])
            if frame_header(decode_frame(frame), "type") == "card":
                self.unanswered_taps.append(event_id)  # the person sees "出错了，请稍后重试"
            else:
                self.dropped_events.append(event_id)
            self._changed.notify_all()

    # --- reading what happened ----------------------------------------------------------------------------

    def messages_to(self, receive_id: str) -> list[dict[str, Any]]:
        """What the bot sent to this open_id or chat_id (a person's p2p chat counts as the person)."""
        with self._lock:
            return [m for m in self.sent if receive_id in (m["receive_id"], m["chat_id"])]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` (called with the double's lock held) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("飞书测试替身等待超时")
                self._changed.wait(left)

    def wait_for_ack(self, event_or_message_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The SDK's answer to the event with this event_id, or carrying the message with this message_id."""
        return self.wait_for(lambda: next((a for a in self.acks if event_or_message_id in (
            a["event_id"], a["im_message_id"])), None), timeout)

    def wait_connected(self, count: int = 1, timeout: float = 5.0) -> None:
        self.wait_for(lambda: self.connections_made >= count and self._conn is not None, timeout)

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.ws.closed

    # --- faults -------------------------------------------------------------------------------------------

    def drop_connection(self) -> None:
        """Feishu's side closes the WebSocket (as on a server restart); the SDK must come back."""
        async def drop() -> None:
            conn = self._conn
            if conn is not None:
                await conn.ws.close()
        self._on_loop(drop)

    def fail_next_sends(self, n: int = 1, status: int = 502) -> None:
        self._add_fault("error", n, status=status)

    def rate_limit_next_sends(self, n: int = 1, reset: int = 3) -> None:
        self._add_fault("rate_limit", n, reset=reset)

    def hang_next_sends(self, n: int = 1) -> None:
        """The next sends get no answer until the double stops (a timeout on the caller's side)."""
        self._add_fault("hang", n)

    def duplicate_next_event(self) -> None:
        """The next event is pushed twice with the same event_id, as Feishu re-pushes an event."""
        self._add_fault("duplicate", 1)

    def split_next_event(self, into: int = 2) -> None:
        """The next event goes as several data frames (``sum``/``seq`` headers) the SDK joins."""
        self._add_fault("split", 1, into=into)

    def revoke_tokens(self) -> None:
        """Every tenant_access_token issued so far stops working (99991663), as after a secret reset."""
        with self._lock:
            self._tokens.clear()

    def _add_fault(self, kind: str, n: int, **params: Any) -> None:
        with self._lock:
            for _ in range(n):
                self._faults.append((kind, params))

    def _take_fault(self, *kinds: str) -> dict[str, Any] | None:
        with self._lock:
            for i, (kind, params) in enumerate(self._faults):
                if kind in kinds:
                    del self._faults[i]
                    return {"kind": kind, **params}
        return None

    # --- the long connection ----------------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.Response:
        with self._changed:
            self.endpoint_calls += 1
            self._changed.notify_all()
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"code": 1000040343, "msg": "invalid request"}, status=400)
        if body.get("AppID") != self.app_id or body.get("AppSecret") != self.app_secret:
            # AUTH_FAILED (lark_oapi/ws/const.py): the SDK takes it as the client's fault and stops.
            return web.json_response({"code": 514, "msg": "auth failed: app_id or app_secret is invalid"})
        device_id = _hex(16)
        ticket = _hex(32)
        with self._lock:
            self._tickets[device_id] = ticket
        url = (f"ws://127.0.0.1:{self.port}/ws/v2?fpid=493&aid=552564&device_id={device_id}"
               f"&access_key={_hex(32)}&service_id={self.service_id}&ticket={quote(ticket)}")
        return web.json_response({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": self.client_config}})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        device_id = request.query.get("device_id", "")
        with self._lock:
            good = self._tickets.pop(device_id, None)
        if good is None or request.query.get("ticket") != good:
            # A ticket is good once; the SDK asks the endpoint for a fresh URL on every (re)connect.
            return web.Response(status=403, headers={"handshake-status": "514", "handshake-msg": "invalid ticket",
                                                     "handshake-autherrcode": "1000040343"})
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._changed:
            self.connections_made += 1
            conn = Connection(ws, device_id, self.service_id, self.connections_made)
            old, self._conn = self._conn, conn
            waiting = list(self._waiting)
            self._waiting.clear()
            self._changed.notify_all()
        if old is not None:
            await old.ws.close()
        for frame in waiting:
            await self._send(conn, frame)
        stopping = self._stopping
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await self._on_frame(conn, msg.data)
                if stopping is not None and stopping.is_set():
                    break
        finally:
            with self._changed:
                if self._conn is conn:
                    self._conn = None
                # Feishu pushes an unacknowledged event again, here on the next connection; a card tap
                # left unanswered is an error the person already saw.
                frames = list(conn.unacked.values())
                conn.unacked.clear()
                for frame in frames:
                    if frame_header(decode_frame(frame), "type") == "card":
                        self._give_up(frame)
                self._waiting.extendleft(reversed([f for f in frames
                                                   if frame_header(decode_frame(f), "type") != "card"]))
                self._changed.notify_all()
        return ws

    async def _on_frame(self, conn: Connection, data: bytes) -> None:
        frame = decode_frame(data)
        kind = frame_header(frame, "type")
        if frame["method"] == FRAME_CONTROL:
            if kind == "ping":
                with self._changed:
                    self.pings += 1
                    self._changed.notify_all()
                pong = encode_frame({"SeqID": 0, "LogID": 0, "service": frame["service"], "method": FRAME_CONTROL,
                                     "headers": [("type", "pong")],
                                     "payload": json.dumps(self.client_config).encode()})
                await conn.ws.send_bytes(pong)
            return
        message_id = frame_header(frame, "message_id") or ""
        # The SDK answers only the part that completed an event sent in parts; the others go with it.
        parts = [conn.unacked.pop(key) for key in [k for k in conn.unacked if k[0] == message_id]]
        answer = json.loads(frame.get("payload") or b"{}")
        data_b64 = answer.get("data")
        event_id, im_message_id = _ids_of(parts)
        ack = {"message_id": message_id, "event_id": event_id, "im_message_id": im_message_id, "type": kind,
               "code": answer.get("code"),
               "biz_rt": frame_header(frame, "biz_rt"),
               "data": json.loads(base64.b64decode(data_b64)) if data_b64 else None}
        with self._changed:
            self.acks.append(ack)
            self._changed.notify_all()

    # --- the HTTP API --------------------------------------------------------------------------------------

    @staticmethod
    def _error(error: FeishuApiError) -> web.Response:
        return web.json_response({"code": error.code, "msg": error.msg}, status=error.status, headers=error.headers)

    async def _tenant_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._changed:
            self.token_requests += 1
            self._changed.notify_all()
            if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
                return web.json_response({"code": 10014, "msg": "app secret invalid"})
            token = "t-g1044" + _hex(36)
            self._tokens.add(token)
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200})

    def _check_token(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise FeishuApiError(400, 99991661, "Missing access token for authorization. "
                                                "Please make a request with token attached.")
        with self._lock:
            if auth[7:].strip() not in self._tokens:
                raise FeishuApiError(400, 99991663, "Invalid access token for authorization. "
                                                    "Please make a request with token attached.")

    async def _bot_info(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request)
        except FeishuApiError as error:
            return self._error(error)
        return web.json_response({"code": 0, "msg": "ok",
                                  "bot": {"activate_status": 2, "app_name": self.bot_name, "avatar_url": "",
                                          "ip_white_list": [], "open_id": self.bot_open_id}})

    def _refused_department_read(self, request: web.Request) -> web.Response | None:
        """The answer to a department read the app may not make (a bad token, no contact scope)."""
        try:
            self._check_token(request)
        except FeishuApiError as error:
            return self._error(error)
        if (refused := self._contact_refusal()) is not None:
            return self._error(refused)
        return None

    def _contact_refusal(self) -> FeishuApiError | None:
        if self.organisation.denied:
            scopes = ", ".join(CONTACT_SCOPES)
            return FeishuApiError(400, 99991672, f"Access denied. One of the following scopes is required: "
                                                 f"[{scopes}].应用尚未开通所需的应用身份权限：[{scopes}]")
        return None

    @staticmethod
    def _department_id(department: OrgDepartment | int | None, id_type: str) -> str:
        number = department.number if isinstance(department, OrgDepartment) else department
        if number is None:
            return ROOT_DEPARTMENT
        return f"od-{number:032x}" if id_type == "open_department_id" else str(number)

    def _org_department(self, department_id: str, id_type: str) -> OrgDepartment | None:
        with self.organisation.lock:
            return next((d for d in self.organisation.departments.values()
                         if self._department_id(d, id_type) == department_id), None)

    async def _user(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request)
        except FeishuApiError as error:
            return self._error(error)
        user_id = request.match_info["user_id"]
        with self._lock:
            person = self.people.get(user_id)
            in_org = self.organisation.people.get(user_id)
        if request.query.get("user_id_type", "open_id") != "open_id" or (person is None and in_org is None) \
                or (person is not None and not person.in_contacts):
            return self._error(FeishuApiError(400, 41050, "no user authority error"))
        if (refused := self._contact_refusal()) is not None:
            return self._error(refused)
        person = person or self.person(user_id)
        id_type = request.query.get("department_id_type", "open_department_id")
        user: dict[str, Any] = {
            "open_id": person.open_id, "union_id": person.union_id, "user_id": person.user_id,
            "name": in_org.name if in_org else person.name, "en_name": "", "nickname": "",
            "status": {"is_activated": True, "is_frozen": False, "is_resigned": False},
            "department_ids": [self._department_id(n, id_type) for n in in_org.departments]
            if in_org and in_org.departments else [ROOT_DEPARTMENT]}
        if in_org is not None and in_org.mobile:
            user["mobile"] = "+86" + in_org.mobile
        return web.json_response({"code": 0, "msg": "success", "data": {"user": user}})

    async def _department_children(self, request: web.Request) -> web.Response:
        if (refused := self._refused_department_read(request)) is not None:
            return refused
        id_type = request.query.get("department_id_type", "open_department_id")
        department_id = request.match_info["department_id"]
        parent = None if department_id == ROOT_DEPARTMENT else self._org_department(department_id, id_type)
        if department_id != ROOT_DEPARTMENT and parent is None:
            return self._error(FeishuApiError(400, 40004, "no dept authority error"))
        under = parent.number if parent is not None else None
        # The SDK writes a bool as Python does ("True"); Feishu's own clients write "true".
        every_level = request.query.get("fetch_child", "false").lower() == "true"
        found = self.organisation.below(under) if every_level else self.organisation.children(under)
        return self._department_page(request, found, id_type)

    def _department_page(self, request: web.Request, found: list[OrgDepartment], id_type: str) -> web.Response:
        """One page of departments, as children and parent answer them."""
        try:
            size = min(int(request.query.get("page_size", "10")), DEPARTMENT_PAGE_LIMIT)
            start = int(request.query.get("page_token") or 0)
        except ValueError:
            return self._error(FeishuApiError(400, 40001, "param is invalid"))
        page = found[start:start + size]
        items = [{"name": d.name, "department_id": self._department_id(d, "department_id"),
                  "open_department_id": self._department_id(d, "open_department_id"),
                  "parent_department_id": self._department_id(d.parent, id_type),
                  "status": {"is_deleted": False}} for d in page]
        more = start + size < len(found)
        data: dict[str, Any] = {"has_more": more, "items": items}
        if more:
            data["page_token"] = str(start + size)
        return web.json_response({"code": 0, "msg": "success", "data": data})

    async def _department_parent(self, request: web.Request) -> web.Response:
        if (refused := self._refused_department_read(request)) is not None:
            return refused
        id_type = request.query.get("department_id_type", "open_department_id")
        department = self._org_department(request.query.get("department_id", ""), id_type)
        if department is None:
            return self._error(FeishuApiError(400, 40004, "no dept authority error"))
        org = self.organisation
        with org.lock:
            above = [org.departments[n] for n in org.chain(department.number)[1:]]
        return self._department_page(request, above, id_type)

    async def _create_message(self, request: web.Request) -> web.StreamResponse:
        fault = self._take_fault("error", "rate_limit", "hang")
        if fault is not None:
            if fault["kind"] == "hang":
                assert self._stopping is not None
                await self._stopping.wait()
                return web.Response(status=504)
            if fault["kind"] == "error":
                return web.Response(status=fault["status"], text="<html><body>Bad Gateway</body></html>",
                                    content_type="text/html")
            return self._error(FeishuApiError(
                429, 99991400, "request trigger frequency limit",
                {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": str(fault["reset"])}))
        try:
            self._check_token(request)
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise FeishuApiError(400, 230001, "Your request contains an invalid request parameter.") from None
            record = self._accept(request.query.get("receive_id_type", ""), body)
        except FeishuApiError as error:
            return self._error(error)
        data = {"message_id": record["message_id"], "root_id": "", "parent_id": "", "msg_type": record["msg_type"],
                "create_time": record["create_time"], "update_time": record["create_time"], "deleted": False,
                "updated": False, "chat_id": record["chat_id"],
                "sender": {"id": self.app_id, "id_type": "app_id", "sender_type": "app",
                           "tenant_key": self.tenant_key},
                "body": {"content": record["content_raw"]}}
        return web.json_response({"code": 0, "msg": "success", "data": data})

    def _accept(self, receive_id_type: str, body: dict[str, Any]) -> dict[str, Any]:
        bad = FeishuApiError(400, 230001, "Your request contains an invalid request parameter.")
        receive_id, msg_type, content = body.get("receive_id"), body.get("msg_type"), body.get("content")
        if receive_id_type not in RECEIVE_ID_TYPES or not isinstance(receive_id, str) or not receive_id:
            raise bad
        if msg_type not in MSG_TYPES or not isinstance(content, str):
            raise bad
        try:
            parsed = json.loads(content)
        except json.JSONDecodeError:
            raise bad from None
        if not isinstance(parsed, dict):
            raise bad
        if msg_type == "text" and not isinstance(parsed.get("text"), str):
            raise bad
        if msg_type == "interactive" and not any(k in parsed for k in ("elements", "body", "i18n_elements",
                                                                        "type", "header")):
            raise bad
        limit = TEXT_BODY_LIMIT if msg_type == "text" else CARD_BODY_LIMIT
        if len(content.encode()) > limit:
            raise FeishuApiError(400, 230025, "The length of the message content reaches its limit.")
        with self._changed:
            if receive_id_type == "chat_id":
                group = self.groups.get(receive_id)
                owner = next((p for p in self.people.values() if p.p2p_chat_id == receive_id), None)
                if owner is not None:
                    chat_id = receive_id
                elif group is None or not group.bot_in:
                    raise FeishuApiError(400, 230002, "Bot/User can NOT be out of the chat.")
                else:
                    chat_id = group.chat_id
            elif receive_id_type == "open_id":
                person = self.people.get(receive_id)
                if person is None:
                    raise FeishuApiError(400, 99992361, "open_id cross app")
                if not person.available:
                    raise FeishuApiError(400, 230013, "Bot has NO availability to this user.")
                chat_id = person.p2p_chat_id
            else:
                raise bad  # the double knows people by open_id only
            record = {"message_id": "om_" + _hex(32), "receive_id": receive_id, "receive_id_type": receive_id_type,
                      "chat_id": chat_id, "msg_type": msg_type, "content": parsed, "content_raw": content,
                      "uuid": body.get("uuid"), "create_time": str(int(time.time() * 1000))}
            self.sent.append(record)
            self._changed.notify_all()
        return record

    async def _resource(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request)
        except FeishuApiError as error:
            return self._error(error)
        key = (request.match_info["message_id"], request.match_info["file_key"])
        kind = request.query.get("type")
        with self._lock:
            stored = self.files.get(key)
        if kind not in ("image", "file"):
            return self._error(FeishuApiError(400, 234001, "Invalid request param."))
        if stored is None or (kind == "image") != key[1].startswith("img_"):
            return self._error(FeishuApiError(400, 234003, "File not in msg."))
        data, name = stored
        return web.Response(body=data, content_type="application/octet-stream",
                            headers={"Content-Disposition": f"attachment; filename=\"{quote(name)}\""})


@contextlib.contextmanager
def running_double(**kwargs: Any) -> Any:
    """A double in its own thread for the length of a ``with`` block."""
    double = FeishuDouble(**kwargs).start_in_thread()
    try:
        yield double
    finally:
        double.stop()
