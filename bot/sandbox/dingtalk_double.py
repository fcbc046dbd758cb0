"""A local DingTalk: the Stream gateway and the OpenAPI calls taskbot makes, as the official SDK sees them.

What it speaks (read from dingtalk-stream 0.24's stream.py, frames.py, handlers.py, chatbot.py):

- ``POST /v1.0/gateway/connections/open`` with ``clientId``, ``clientSecret``, ``subscriptions``,
  ``ua``, ``localIp``: answers ``{"endpoint", "ticket"}``; the SDK then opens the WebSocket
  ``<endpoint>?ticket=<ticket>``. A ticket opens one connection, once.
- On the WebSocket the gateway sends JSON frames ``{"specVersion", "type", "headers", "data"}``
  whose ``data`` is itself a JSON string: CALLBACK frames on the topics the connection subscribed
  (robot messages on ``/v1.0/im/bot/messages/get``), SYSTEM ``ping`` frames (the SDK answers with
  the ``opaque`` it was given) and SYSTEM ``disconnect`` (the SDK closes and opens a new connection).
  The SDK answers each frame with an ACK ``{"code", "headers": {"messageId", "contentType"},
  "message", "data"}``; a callback not acknowledged is sent again on the next connection.
- ``POST /v1.0/oauth2/accessToken`` (``appKey``/``appSecret`` → ``accessToken``, ``expireIn``).
- ``POST /v1.0/robot/oToMessages/batchSend`` and ``/v1.0/robot/groupMessages/send`` with the
  ``x-acs-dingtalk-access-token`` header, ``robotCode``, ``msgKey`` and ``msgParam`` (a JSON string).
- ``POST /v1.0/robot/messageFiles/download`` (``downloadCode`` → ``downloadUrl``), the file behind it,
  and a message's ``sessionWebhook``.
- The organisation's directory (an ``Organisation``, bot/sandbox/organisation.py), in the contact API of
  the older host (oapi.dingtalk.com, served here at the same address), with the token in the query
  (``?access_token=``) and answers in its shape, HTTP 200 and ``{"errcode", "errmsg", "result",
  "request_id"}``: ``POST /topapi/v2/department/listsub`` (``dept_id``, the organisation's root is 1:
  one level of ``{"dept_id", "name", "parent_id", "create_dept_group", "auto_add_user"}``; 60003 for a
  department it does not have) and ``POST /topapi/v2/user/get`` (``userid``: ``{"userid", "unionid",
  "name", "mobile", "state_code", "dept_id_list", …}``; 60121 for a person it does not know) and
  ``POST /topapi/v2/department/listparentbyuser`` (``userid``: ``{"parent_list": [{"parent_dept_id_list":
  [the department, its parent, …, 1]}]}``, one entry for each department the person is in; 33012
  "无效的USERID" for a person it does not know). 40014 for a token it does not know; 60011 for every
  call once the app's contact permission is withdrawn (``Organisation.denied``). Not served: paging of
  a large department's members, the newer ``/v1.0/contact`` API, ``listparentbydept``, and the contact
  range narrower than the whole organisation (50004).

Errors come in the new OpenAPI's shape: an HTTP status and ``{"requestid", "code", "message"}``
(``invalidClientIdOrSecret``/400 for the token, ``InvalidAuthentication``/401 for a token it does
not know, ``Forbidden.AccessDenied.AccessTokenPermissionDenied``/403, and the throttling codes
``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi``/``QpsLimitForApi``, also 403). A person the
robot cannot reach is not an error: batchSend answers 200 and names them in ``invalidStaffIdList``.

The test side (thread-safe) acts as people (``person_says``, ``person_sends_file``,
``person_sends_picture``), reads what the bot pushed (``messages_to``), and injects faults.
It is never part of production traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from bot.sandbox.organisation import Organisation, sandbox_organisation
from bot.sandbox.threaded import start_on_own_loop, stop_own_loop

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
TOKEN_HEADER = "x-acs-dingtalk-access-token"
TOKEN_LIFETIME = 7200  # seconds, as DingTalk answers in expireIn
# How long a ticket from connections/open may wait before the WebSocket is opened with it: the
# platform does not publish it; long enough for any client that connects right away.
TICKET_LIFETIME = 90.0
SESSION_WEBHOOK_LIFETIME = 90 * 60  # a message's reply URL stops working after a while
OTO_BATCH_LIMIT = 20  # userIds per batchSend
# The robot message templates (msgKey) taskbot sends and the msgParam fields each requires.
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
    **{f"sampleActionCard{n}": ("title", "text", *(f"{kind}{i}" for i in range(1, n + 1)
                                                    for kind in ("actionTitle", "actionURL")))
       for n in range(2, 6)},
    "sampleActionCard6": ("title", "text", "buttonTitle1", "buttonUrl1", "buttonTitle2", "buttonUrl2"),
}
PERMISSION_DENIED = ("Forbidden.AccessDenied.AccessTokenPermissionDenied",
                     "应用尚未开通所需的权限：[qyapi_robot_sendmsg]")
QPS_LIMIT = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
ROOT_DEPARTMENT = 1  # the organisation itself in DingTalk's numbering
# The contact API's errcodes (the older API answers HTTP 200 and says what went wrong in the body).
CONTACT_TOKEN_INVALID = (40014, "不合法的access_token")
CONTACT_DENIED = (60011, "没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/orgapp/add-api-permission")
NO_SUCH_DEPARTMENT = (60003, "部门不存在")
NO_SUCH_USER = (60121, "找不到该用户")
INVALID_USERID = (33012, "无效的USERID")  # listparentbyuser's word for a person it does not know

T = TypeVar("T")


class ApiError(Exception):
    """An OpenAPI refusal: the HTTP status and DingTalk's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Connection:
    """One Stream connection the SDK opened (or was given a ticket for)."""

    id: str
    ticket: str
    subscriptions: list[dict[str, str]]
    ua: str
    issued_at: float
    ws: web.WebSocketResponse | None = None
    transport: Any = None
    open: bool = False
    closed: bool = False


@dataclass
class Frame:
    """A frame the gateway sends, and where it stands."""

    message_id: str
    type: str
    topic: str
    data: dict[str, Any]
    sent_on: str | None = None  # the connection it was last sent on
    sent_count: int = 0

    def wire(self, app_id: str, connection_id: str, now: float) -> str:
        return json.dumps({
            "specVersion": "1.0",
            "type": self.type,
            "headers": {"appId": app_id, "connectionId": connection_id, "contentType": "application/json",
                        "messageId": self.message_id, "time": str(int(now * 1000)), "topic": self.topic},
            "data": json.dumps(self.data, ensure_ascii=False),
        }, ensure_ascii=False)


@dataclass
class Push:
    """A message the bot put on the wire: to a person (oto), a group, or a message's session webhook."""

    address: str
    via: str
    msg_key: str
    msg_param: dict[str, Any]
    body: dict[str, Any]


@dataclass
class Group:
    conversation_id: str
    title: str
    robot_in: bool = True


@dataclass
class Faults:
    fail_next: int = 0  # OpenAPI pushes answered 5xx
    fail_status: int = 503
    throttle_next: int = 0
    throttle_code: str = QPS_LIMIT
    throttle_status: int = 403
    hang_next: int = 0
    permission_revoked: bool = False
    flow_controlled: dict[str, int] = field(default_factory=dict)  # staff id → pushes refused per person
    reject_tickets: bool = False


class DingTalkDouble:
    """DingTalk's side of Stream mode and the robot OpenAPI, on 127.0.0.1."""

    def __init__(self, client_id: str = "dingsandboxrobot01", client_secret: str = "sandbox-client-secret-0001", *,
                 corp_id: str = "dingsandboxcorp", clock: Callable[[], float] = time.time,
                 ping_interval: float | None = None, organisation: Organisation | None = None) -> None:
        self.client_id = client_id
        self.organisation = organisation if organisation is not None else sandbox_organisation()
        self.client_secret = client_secret
        self.corp_id = corp_id
        self.clock = clock
        self.ping_interval = ping_interval  # seconds between SYSTEM pings on every connection (None: only on demand)
        self.robot_user_id = "$:LWCP_v1:$robot" + secrets.token_hex(8)
        self.port = 0
        self.faults = Faults()
        self.connections: list[Connection] = []
        self.acks: list[dict[str, Any]] = []
        self.pushes: list[Push] = []
        self.open_requests: list[dict[str, Any]] = []  # bodies of connections/open, secret blanked
        self.token_requests = 0
        self.people: dict[str, str] = {}  # staff id → nick
        self.groups: dict[str, Group] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # downloadCode → (name, bytes)
        self._tokens: dict[str, float] = {}  # access token → expiry
        self._sessions: dict[str, tuple[str, bool, float]] = {}  # session → (address, is_group, expiry)
        self._frames: dict[str, Frame] = {}  # not yet acknowledged
        self._acked_frames: list[Frame] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # wait_for checks may call the reading methods, which lock too
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What the OpenAPI host is (``https://api.dingtalk.com`` for the real one)."""
        return f"http://127.0.0.1:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_get("/connect", self._websocket)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._file_download)
        app.router.add_get("/files/{key}", self._file_bytes)
        app.router.add_post("/robot/sendBySession", self._session_send)
        app.router.add_post("/topapi/v2/department/listsub", self._department_listsub)
        app.router.add_post("/topapi/v2/user/get", self._user_get)
        app.router.add_post("/topapi/v2/department/listparentbyuser", self._list_parent_by_user)
        return app

    async def start_async(self, port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if self.ping_interval:
            self._spawn(self._ping_forever(self.ping_interval))

    async def stop_async(self) -> None:
        if self._release is not None:
            self._release.set()  # a hung answer returns, so the server can close
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for connection in self._live():
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001)  # type: ignore[union-attr]
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self, port: int = 0) -> DingTalkDouble:
        """Run the double on its own event loop in a daemon thread."""
        self._thread = start_on_own_loop("dingtalk-double", lambda: self.start_async(port), self.stop_async)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            stop_own_loop(self._loop, self._thread, "DingTalk double")

    # --- the people and groups ---------------------------------------------------

    def person(self, staff_id: str, nick: str) -> str:
        with self._lock:
            self.people[staff_id] = nick
        return staff_id

    def group(self, conversation_id: str, title: str) -> str:
        with self._lock:
            self.groups[conversation_id] = Group(conversation_id, title)
        return conversation_id

    def remove_robot_from(self, conversation_id: str) -> None:
        with self._lock:
            self.groups[conversation_id].robot_in = False

    def person_says(self, staff_id: str, text: str, group: str | None = None, at_bot: bool = False) -> str:
        """A person writes to the robot (1:1) or in a group; returns the message's msgId."""
        return self._incoming(staff_id, group, at_bot, "text", {"text": {"content": text}})

    def person_sends_file(self, staff_id: str, name: str, data: bytes, group: str | None = None,
                          at_bot: bool = False) -> str:
        code = self._store_file(name, data)
        content = {"downloadCode": code, "fileName": name, "spaceId": "sandbox", "fileId": code[-12:]}
        return self._incoming(staff_id, group, at_bot, "file", {"content": content})

    def person_sends_picture(self, staff_id: str, data: bytes, group: str | None = None, at_bot: bool = False) -> str:
        code = self._store_file("image.png", data)
        return self._incoming(staff_id, group, at_bot, "picture",
                              {"content": {"downloadCode": code, "pictureDownloadCode": code}})

    def download_code_of(self, msg_id: str) -> str:
        """The downloadCode a file message carried (for tests that fetch it back)."""
        with self._lock:
            for frame in self._all_frames():
                if frame.data.get("msgId") == msg_id:
                    return str(frame.data["content"]["downloadCode"])
        raise KeyError(msg_id)

    # --- the gateway's own moves -------------------------------------------------

    def disconnect(self) -> None:
        """Ask every connection to reconnect, as the gateway does before it goes away (SYSTEM disconnect)."""
        self._send_system("disconnect", {"reason": "sandbox"})

    def ping(self) -> str:
        """Send a SYSTEM ping on every connection; returns its messageId (its ACK echoes the opaque)."""
        return self._send_system("ping", {"opaque": secrets.token_hex(8)})

    def resend(self, msg_id: str) -> None:
        """Send a robot message again, as the gateway does when the ACK it got back was lost on the way."""
        with self._lock:
            frame = next(f for f in self._all_frames() if f.data.get("msgId") == msg_id)
            self._frames[frame.message_id] = frame
            frame.sent_on = None
        self._flush_soon()

    def close_connections(self, code: int = 1001) -> None:
        """Close every WebSocket from the gateway's side with a close frame (``going away``)."""
        self._call(self._close_all(code))

    def abort_connections(self) -> None:
        """Cut every connection without a close frame, as a network failure does."""
        def cut() -> None:
            for connection in self._live():
                connection.transport.abort()
        assert self._loop is not None
        self._loop.call_soon_threadsafe(cut)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self.faults.fail_next, self.faults.fail_status = count, status

    def throttle_next(self, count: int, code: str = QPS_LIMIT, status: int = 403) -> None:
        with self._lock:
            self.faults.throttle_next, self.faults.throttle_code, self.faults.throttle_status = count, code, status

    def hang_next(self, count: int) -> None:
        """The next pushes get no answer until ``release`` or the double stops."""
        with self._lock:
            self.faults.hang_next = count

    def release(self) -> None:
        assert self._loop is not None and self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)

    def revoke_permission(self) -> None:
        """The app loses its permission to send robot messages (the admin withdrew it)."""
        with self._lock:
            self.faults.permission_revoked = True

    def flow_control(self, staff_id: str, count: int = 1) -> None:
        """The next pushes to this person are held back by DingTalk's per-person limit."""
        with self._lock:
            self.faults.flow_controlled[staff_id] = count

    def reset_secret(self, new_secret: str) -> None:
        """The app's secret is reset in the developer console: old tokens and the old secret stop working."""
        with self._lock:
            self.client_secret = new_secret
            self._tokens.clear()

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # --- reading what happened ---------------------------------------------------

    def messages_to(self, address: str) -> list[Push]:
        with self._lock:
            return [push for push in self.pushes if push.address == address]

    def acked(self, message_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [ack for ack in self.acks if ack.get("headers", {}).get("messageId") == message_id]

    def callback_data(self, msg_id: str) -> dict[str, Any]:
        """The robot message's JSON as the gateway sent it (the CALLBACK frame's data)."""
        with self._lock:
            for frame in self._all_frames():
                if frame.data.get("msgId") == msg_id:
                    return dict(frame.data)
        raise KeyError(msg_id)

    def frame_id_of(self, msg_id: str) -> str:
        """The gateway's messageId of the frame that carried a robot message's msgId."""
        with self._lock:
            for frame in self._all_frames():
                if frame.data.get("msgId") == msg_id:
                    return frame.message_id
        raise KeyError(msg_id)

    def open_connections(self) -> list[Connection]:
        with self._lock:
            return [c for c in self.connections if c.open]

    async def wait_for(self, check: Callable[[], T | None], timeout: float = 5.0, what: str = "") -> T:
        """Poll ``check`` (under the double's lock) until it answers something true."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"DingTalk double: timed out waiting for {what or check}")
            await asyncio.sleep(0.01)

    async def wait_for_ack(self, message_id: str, timeout: float = 5.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            hits = [a for a in self.acks if a.get("headers", {}).get("messageId") == message_id]
            return hits[-1] if hits else None
        return await self.wait_for(found, timeout, f"the ACK of {message_id}")

    async def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> list[Connection]:
        def enough() -> list[Connection] | None:
            opened = [c for c in self.connections if c.open or c.closed]
            return opened if len(opened) >= count and opened[-1].open else None
        return await self.wait_for(enough, timeout, f"{count} connection(s)")

    async def wait_for_messages(self, address: str, count: int = 1, timeout: float = 5.0) -> list[Push]:
        def enough() -> list[Push] | None:
            sent = [p for p in self.pushes if p.address == address]
            return sent if len(sent) >= count else None
        return await self.wait_for(enough, timeout, f"{count} message(s) to {address}")

    # --- inside: building and sending frames --------------------------------------

    def _incoming(self, staff_id: str, group: str | None, at_bot: bool, msgtype: str, body: dict[str, Any]) -> str:
        now = self.clock()
        msg_id = "msg" + secrets.token_hex(12)
        session = secrets.token_hex(16)
        with self._lock:
            nick = self.people.setdefault(staff_id, staff_id)
            conversation_id = group or "cid" + staff_id.encode().hex()
            self._sessions[session] = (group or staff_id, group is not None, now + SESSION_WEBHOOK_LIFETIME)
            data: dict[str, Any] = {
                "conversationId": conversation_id,
                "chatbotCorpId": self.corp_id,
                "chatbotUserId": self.robot_user_id,
                "msgId": msg_id,
                "senderNick": nick,
                "isAdmin": False,
                "senderStaffId": staff_id,
                "sessionWebhookExpiredTime": int((now + SESSION_WEBHOOK_LIFETIME) * 1000),
                "createAt": int(now * 1000),
                "senderCorpId": self.corp_id,
                "conversationType": "2" if group else "1",
                "senderId": "$:LWCP_v1:$" + staff_id.encode().hex(),
                "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
                "robotCode": self.client_id,
                "msgtype": msgtype,
                **body,
            }
            if group:
                data["conversationTitle"] = self.groups[group].title if group in self.groups else group
                data["isInAtList"] = at_bot
                if at_bot:
                    data["atUsers"] = [{"dingtalkId": self.robot_user_id}]
                    if msgtype == "text":  # DingTalk cuts the @name out and leaves the space before the text
                        data["text"] = {"content": " " + body["text"]["content"]}
            frame = Frame(self._new_id("frame"), "CALLBACK", ROBOT_TOPIC, data)
            self._frames[frame.message_id] = frame
        self._flush_soon()
        return msg_id

    def _send_system(self, topic: str, data: dict[str, Any]) -> str:
        frame = Frame(self._new_id("system"), "SYSTEM", topic, data)
        self._call(self._send_to_all(frame))
        return frame.message_id

    def _new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}-{secrets.token_hex(4)}"

    def _all_frames(self) -> list[Frame]:
        return [*self._frames.values(), *self._acked_frames]

    def _store_file(self, name: str, data: bytes) -> str:
        code = "dc" + secrets.token_urlsafe(24)
        with self._lock:
            self.files[code] = (name, data)
        return code

    def _call(self, coroutine: Any) -> None:
        """Run ``coroutine`` on the double's loop: waited for from another thread, scheduled from its own."""
        assert self._loop is not None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._spawn(coroutine)
        else:
            asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _flush_soon(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: self._spawn(self._flush()))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _live(self) -> list[Connection]:
        return [c for c in self.connections if c.open and c.ws is not None and not c.ws.closed]

    async def _flush(self) -> None:
        """Send every unacknowledged callback not already out on a live connection."""
        with self._lock:
            live = self._live()
            live_ids = {c.id for c in live}
            due = [f for f in self._frames.values() if f.sent_on not in live_ids]
        for frame in due:
            target = next((c for c in reversed(live) if self._subscribed(c, frame)), None)
            if target is None:
                continue
            with self._lock:
                frame.sent_on, frame.sent_count = target.id, frame.sent_count + 1
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await target.ws.send_str(frame.wire(self.client_id, target.id, self.clock()))  # type: ignore[union-attr]

    @staticmethod
    def _subscribed(connection: Connection, frame: Frame) -> bool:
        return any(s.get("type") == frame.type and s.get("topic") in (frame.topic, "*")
                   for s in connection.subscriptions)

    async def _send_to_all(self, frame: Frame) -> None:
        for connection in self._live():
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await connection.ws.send_str(frame.wire(self.client_id, connection.id, self.clock()))  # type: ignore[union-attr]

    async def _close_all(self, code: int) -> None:
        for connection in self._live():
            await connection.ws.close(code=code)  # type: ignore[union-attr]

    async def _ping_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send_to_all(Frame(self._new_id("system"), "SYSTEM", "ping", {"opaque": secrets.token_hex(8)}))

    # --- inside: HTTP -------------------------------------------------------------

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        return web.json_response({"requestid": secrets.token_hex(16).upper(), "code": error.code,
                                  "message": error.message}, status=error.status)

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "InvalidParameter", "请求体不是合法的 JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameter", "请求体不是合法的 JSON")
        return body

    async def _open_connection(self, request: web.Request) -> web.Response:
        try:
            body = await self._json(request)
            with self._lock:
                self.open_requests.append({**body, "clientSecret": "***"})
                if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
                    raise ApiError(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
                connection = Connection(id=self._new_id("conn"), ticket=secrets.token_urlsafe(24),
                                        subscriptions=list(body.get("subscriptions") or []),
                                        ua=str(body.get("ua", "")), issued_at=self.clock())
                self.connections.append(connection)
        except ApiError as error:
            return self._error(error)
        return web.json_response({"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": connection.ticket})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            connection = next((c for c in self.connections if c.ticket == ticket and not c.open and not c.closed),
                              None)
            stale = connection is None or self.faults.reject_tickets or \
                self.clock() - connection.issued_at > TICKET_LIFETIME
        if stale:
            return self._error(ApiError(401, "InvalidTicket", "ticket 无效或已过期"))
        assert connection is not None
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._lock:
            connection.ws, connection.transport, connection.open = ws, request.transport, True
        self._spawn(self._flush())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_ack(message.data)
        finally:
            with self._lock:
                connection.open, connection.closed = False, True
        return ws

    def _on_ack(self, raw: str) -> None:
        try:
            ack = json.loads(raw)
        except ValueError:
            return
        with self._lock:
            self.acks.append(ack)
            message_id = ack.get("headers", {}).get("messageId")
            frame = self._frames.get(message_id)
            if frame is not None and ack.get("code") == 200:
                self._frames.pop(message_id)
                if frame not in self._acked_frames:
                    self._acked_frames.append(frame)

    async def _access_token(self, request: web.Request) -> web.Response:
        try:
            body = await self._json(request)
            with self._lock:
                self.token_requests += 1
                if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
                    raise ApiError(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
                token = secrets.token_hex(16)
                self._tokens[token] = self.clock() + TOKEN_LIFETIME
        except ApiError as error:
            return self._error(error)
        return web.json_response({"accessToken": token, "expireIn": TOKEN_LIFETIME})

    def _check_token(self, request: web.Request) -> None:
        token = request.headers.get(TOKEN_HEADER, "")
        expiry = self._tokens.get(token)
        if expiry is None or self.clock() >= expiry:
            raise ApiError(401, "InvalidAuthentication", "不合法的access_token")

    async def _fault(self) -> None:
        """The injected fault this call meets, in the order a real request would meet them."""
        with self._lock:
            faults = self.faults
            if faults.hang_next:
                faults.hang_next -= 1
                hang = True
            else:
                hang = False
        if hang:
            assert self._release is not None
            await self._release.wait()
            raise ApiError(503, "ServiceUnavailable", "服务暂不可用")
        with self._lock:
            if faults.fail_next:
                faults.fail_next -= 1
                raise ApiError(faults.fail_status, "ServiceUnavailable", "服务暂不可用")
            if faults.throttle_next:
                faults.throttle_next -= 1
                raise ApiError(faults.throttle_status, faults.throttle_code, "请求被限流")

    def _check_message(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if body.get("robotCode") != self.client_id:
            raise ApiError(400, "resource.not.found", "机器人不存在")
        msg_key = body.get("msgKey")
        if msg_key not in TEMPLATE_FIELDS:
            raise ApiError(400, "InvalidParameter", f"msgKey 不支持：{msg_key}")
        raw = body.get("msgParam")
        try:
            param = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            param = None
        if not isinstance(param, dict):
            raise ApiError(400, "InvalidParameter", "msgParam 必须是 JSON 字符串")
        missing = [name for name in TEMPLATE_FIELDS[msg_key] if not param.get(name)]
        if missing:
            raise ApiError(400, "InvalidParameter", f"msgParam 缺少字段：{','.join(missing)}")
        return str(msg_key), param

    async def _robot_call(self, request: web.Request) -> tuple[dict[str, Any], str, dict[str, Any]]:
        body = await self._json(request)
        await self._fault()
        with self._lock:
            self._check_token(request)
            if self.faults.permission_revoked:
                raise ApiError(403, *PERMISSION_DENIED)
        msg_key, param = self._check_message(body)
        return body, msg_key, param

    async def _batch_send(self, request: web.Request) -> web.Response:
        try:
            body, msg_key, param = await self._robot_call(request)
            user_ids = body.get("userIds")
            if not isinstance(user_ids, list) or not user_ids or len(user_ids) > OTO_BATCH_LIMIT:
                raise ApiError(400, "InvalidParameter", f"userIds 须为 1 到 {OTO_BATCH_LIMIT} 个")
            invalid, held = [], []
            with self._lock:
                for user_id in user_ids:
                    if user_id not in self.people:
                        invalid.append(user_id)
                    elif self.faults.flow_controlled.get(user_id):
                        self.faults.flow_controlled[user_id] -= 1
                        held.append(user_id)
                    else:
                        self.pushes.append(Push(user_id, "oto", msg_key, param, body))
        except ApiError as error:
            return self._error(error)
        return web.json_response({"processQueryKey": secrets.token_urlsafe(16), "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": held})

    async def _group_send(self, request: web.Request) -> web.Response:
        try:
            body, msg_key, param = await self._robot_call(request)
            conversation_id = body.get("openConversationId")
            with self._lock:
                group = self.groups.get(conversation_id) if isinstance(conversation_id, str) else None
                if group is None or not group.robot_in:
                    raise ApiError(400, "resource.not.found", "机器人不在该群中或群不存在")
                self.pushes.append(Push(group.conversation_id, "group", msg_key, param, body))
        except ApiError as error:
            return self._error(error)
        return web.json_response({"processQueryKey": secrets.token_urlsafe(16)})

    async def _file_download(self, request: web.Request) -> web.Response:
        try:
            body = await self._json(request)
            await self._fault()
            with self._lock:
                self._check_token(request)
                code = body.get("downloadCode")
                if body.get("robotCode") != self.client_id or code not in self.files:
                    raise ApiError(400, "resource.not.found", "文件不存在或下载码已失效")
        except ApiError as error:
            return self._error(error)
        return web.json_response({"downloadUrl": f"{self.base_url}/files/{code}"})

    async def _file_bytes(self, request: web.Request) -> web.Response:
        with self._lock:
            stored = self.files.get(request.match_info["key"])
        if stored is None:
            return web.Response(status=404)
        return web.Response(body=stored[1], content_type="application/octet-stream")

    async def _session_send(self, request: web.Request) -> web.Response:
        """A reply through a message's sessionWebhook, answered in the old API's errcode shape."""
        body = await request.json()
        with self._lock:
            session = self._sessions.get(request.query.get("session", ""))
            if session is None or self.clock() >= session[2]:
                return web.json_response({"errcode": 300001, "errmsg": "session 不存在或已过期"})
            msgtype = body.get("msgtype", "")
            content = body.get(msgtype, {}) if isinstance(body.get(msgtype), dict) else {}
            self.pushes.append(Push(session[0], "webhook", msgtype, content, body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # --- inside: the directory (the older contact API) ------------------------------------------

    def _contact_refusal(self, request: web.Request) -> tuple[int, str] | None:
        """What the contact API says before it looks at the question: a token it does not know, or
        an app it no longer lets read the directory."""
        with self._lock:
            expiry = self._tokens.get(request.query.get("access_token", ""))
        if expiry is None or self.clock() >= expiry:
            return CONTACT_TOKEN_INVALID
        return CONTACT_DENIED if self.organisation.denied else None

    @staticmethod
    def _contact_answer(result: Any = None, error: tuple[int, str] | None = None) -> web.Response:
        body: dict[str, Any] = {"errcode": error[0] if error else 0, "errmsg": error[1] if error else "ok",
                                "request_id": secrets.token_hex(8)}
        if error is None:
            body["result"] = result
        return web.json_response(body)

    async def _contact_question(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await self._json(request)
        except ApiError:
            return self._contact_answer(error=(40035, "不合法的参数"))
        refused = self._contact_refusal(request)
        return self._contact_answer(error=refused) if refused else body

    async def _department_listsub(self, request: web.Request) -> web.Response:
        body = await self._contact_question(request)
        if isinstance(body, web.Response):
            return body
        number = body.get("dept_id", ROOT_DEPARTMENT)
        org = self.organisation
        parent = None if number == ROOT_DEPARTMENT else number
        if parent is not None and parent not in org.departments:
            return self._contact_answer(error=NO_SUCH_DEPARTMENT)
        return self._contact_answer([{"dept_id": d.number, "name": d.name, "parent_id": d.parent or ROOT_DEPARTMENT,
                                      "create_dept_group": False, "auto_add_user": False}
                                     for d in org.children(parent)])

    async def _user_get(self, request: web.Request) -> web.Response:
        body = await self._contact_question(request)
        if isinstance(body, web.Response):
            return body
        with self.organisation.lock:
            person = self.organisation.people.get(str(body.get("userid", "")))
        if person is None:
            return self._contact_answer(error=NO_SUCH_USER)
        result: dict[str, Any] = {
            "userid": person.user_id, "unionid": "union" + person.user_id.encode().hex(), "name": person.name,
            "active": True, "admin": False, "boss": False, "senior": False, "real_authed": True,
            "dept_id_list": list(person.departments) or [ROOT_DEPARTMENT],
            "dept_order_list": [{"dept_id": d, "order": 0} for d in person.departments],
        }
        if person.mobile:  # absent when the person has none (or the app may not read mobiles)
            result["mobile"], result["state_code"] = person.mobile, "86"
        return self._contact_answer(result)

    async def _list_parent_by_user(self, request: web.Request) -> web.Response:
        body = await self._contact_question(request)
        if isinstance(body, web.Response):
            return body
        org = self.organisation
        with org.lock:
            person = org.people.get(str(body.get("userid", "")))
        if person is None:
            return self._contact_answer(error=INVALID_USERID)
        # Someone directly under the organisation is in the root department alone, as user/get says.
        chains = [[*org.chain(d), ROOT_DEPARTMENT] for d in person.departments] or [[ROOT_DEPARTMENT]]
        return self._contact_answer({"parent_list": [{"parent_dept_id_list": chain} for chain in chains]})
