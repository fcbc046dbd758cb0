"""DingTalk, both ways: people's messages come in over Stream mode, the bot's go out through the robot OpenAPI.

Incoming: the official ``dingtalk_stream.DingTalkStreamClient`` keeps the WebSocket to DingTalk's
gateway; a chatbot handler turns each robot message (CALLBACK on ``/v1.0/im/bot/messages/get``)
into an ``Incoming``, awaits ``on_incoming`` with it on the bot's own event loop, and only then
acknowledges the frame, so a message the bot did not take is sent again by DingTalk.

The SDK runs on an event loop of its own in one thread. It has to: it opens each connection with
a blocking ``requests.post`` that has no timeout (dingtalk_stream/stream.py, ``open_connection``),
which on the bot's loop would stop Telegram and the outbox whenever DingTalk is slow to answer.

Where the SDK connects: it POSTs to ``DingTalkStreamClient.OPEN_CONNECTION_API``, a class
attribute it reads through the class name on every (re)connection, built at import from
``DINGTALK_OPENAPI_ENDPOINT``; the WebSocket address comes from that call's answer. So pointing
the SDK at a gateway means setting that one class attribute (``point_sdk_at``), which
``DingTalkChannel.start`` does from its ``api_base`` (``https://api.dingtalk.com`` in production,
the double's base URL in tests). It is process-wide: one DingTalk app per process.

Outgoing: ``push`` sends bodies already rendered in the robot message format (markdown, text,
actionCard) as the OpenAPI's templates: ``oToMessages/batchSend`` to a person (by staff id),
``groupMessages/send`` to a group (by openConversationId), with an app access token cached until
shortly before it expires. Every failure becomes a ``DeliveryError`` the outbox can act on.

Directory: the organisation's departments and a person (``departments``, ``person``: the
``bot.channels.directory.Directory`` contract) come from the contact API on the older host
(``topapi/v2/department/listsub``, ``topapi/v2/user/get`` on oapi.dingtalk.com), which takes the
same app token in its query and answers ``errcode`` in the body. The departments above a person's
come in one call, ``topapi/v2/department/listparentbyuser``: for each department they are in, the
ids from that department up to the organisation.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import dingtalk_stream
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotHandler, ChatbotMessage, Credential

from bot.channels import DeliveryError, Incoming, IncomingFile
from bot.channels.directory import Department, DirectoryError, DirectoryPerson, aligned_chains
from tasks.redaction import redact, register_secret

log = logging.getLogger(__name__)

DINGTALK_API = "https://api.dingtalk.com"
# The contact API (the organisation's directory) lives on the older host; it takes the same app token.
DINGTALK_OAPI = "https://oapi.dingtalk.com"
ROOT_DEPARTMENT = 1  # the organisation itself, whose sub-departments are the departments
# The old API's answers (errcode): the app may not call this API (no contact permission), the
# department is outside the app's contact range, the token is not (or no longer) valid, no such person.
NO_PERMISSION, OUT_OF_RANGE, TOKEN_INVALID, NO_SUCH_USER = 60011, 50004, 40014, 60121
# listparentbyuser's own answers: an id it does not know ("无效的USERID"); a token without the permission.
INVALID_USERID, AUTHORIZATION_REQUIRED = 33012, 43007
OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"
TOKEN_HEADER = "x-acs-dingtalk-access-token"
# DingTalk's throttling is counted per second ("qps限流限制时间是1秒"): waiting one second is enough.
THROTTLE_WAIT = 1.0
# A person DingTalk holds back (flowControlledStaffIdList) has no published wait; a minute is polite.
FLOW_CONTROL_WAIT = 60.0
# The organisation's monthly call quota ran out: nothing gets through for a long while.
QUOTA_WAIT = 3600.0
# A token is refreshed this long before DingTalk says it expires, as the SDK itself does.
TOKEN_MARGIN = 300.0
SEEN_MESSAGES = 2000  # msgIds remembered, so a message DingTalk sends again is handed on once

OnIncoming = Callable[[Incoming], Awaitable[None]]


def point_sdk_at(api_base: str) -> None:
    """Make the SDK open its Stream connections through ``api_base``'s gateway (see the module's doc)."""
    dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API = api_base.rstrip("/") + OPEN_CONNECTION_PATH


# --- incoming ---------------------------------------------------------------------------


def incoming_from(data: dict[str, Any]) -> Incoming | None:
    """The ``Incoming`` a robot message's JSON stands for (None: nothing the bot can act on)."""
    message = ChatbotMessage.from_dict(data)
    user_ref = message.sender_staff_id or message.sender_id
    if not user_ref:
        return None
    is_group = message.conversation_type == "2"
    address = message.conversation_id if is_group else user_ref
    content = data.get("content") if isinstance(data.get("content"), dict) else {}
    text, files = "", []
    kind = message.message_type
    if kind == "text" and message.text is not None:
        # In a group DingTalk cuts the robot's @name out of the text and leaves the space around it.
        text = (message.text.content or "").strip()
    elif kind == "picture":
        files.append(IncomingFile("photo", "图片.png", 0, str(content.get("downloadCode", ""))))
    elif kind == "file":
        files.append(IncomingFile("document", str(content.get("fileName") or "文件"), 0,
                                  str(content.get("downloadCode", ""))))
    elif kind == "richText":
        parts = content.get("richText") or []
        text = "".join(str(part["text"]) for part in parts if "text" in part).strip()
        files += [IncomingFile("photo", "图片.png", 0, str(part["downloadCode"]))
                  for part in parts if part.get("downloadCode")]
    elif kind == "audio":
        text = str(content.get("recognition") or "").strip()  # DingTalk's own transcription of the voice
    elif kind == "video":
        files.append(IncomingFile("document", "视频.mp4", 0, str(content.get("downloadCode", ""))))
    if not text and not files:
        return None
    return Incoming(channel="dingtalk", user_ref=user_ref, address=address, is_group=is_group,
                    name=message.sender_nick or user_ref, text=text, files=files,
                    mentions_bot=bool(is_group and message.is_in_at_list), message_id=message.message_id or "")


class _RobotMessages(ChatbotHandler):
    """The SDK's handler for robot messages: hands each to the channel, and acknowledges it after."""

    def __init__(self, channel: DingTalkChannel) -> None:
        super().__init__()
        self.channel = channel

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        return await self.channel._on_callback(callback.data)


def _handles_a_frame(task: asyncio.Task[Any]) -> bool:
    return getattr(task.get_coro(), "__qualname__", "") == "DingTalkStreamClient.background_task"


class _SecretsOut(logging.Filter):
    """Keeps the one-time ticket and the app secret out of the SDK's log lines (and websockets').

    The SDK logs the whole answer of connections/open, ticket included, at INFO (stream.py,
    ``start``), and websockets logs the URL it opens, ticket in its query, at DEBUG; the app secret
    is registered with tasks.redaction, so ``redact`` hides it too.
    """

    _TICKET = re.compile(r"""(['"]ticket['"]\s*:\s*['"]|[?&]ticket=)[^'"&\s]+""")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # the SDK passes an argument without a placeholder (stream.py:89)
            text = str(record.msg)
        record.msg, record.args = redact(self._TICKET.sub(r"\1***", text)), ()
        return True


class _SdkNoise(logging.Filter):
    """Drops two SDK lines that say nothing wrong happened.

    Every SYSTEM ping is logged as a WARNING about an "unknown message topic" (stream.py:121),
    and our own stop, which cancels the SDK's loop, as an ERROR about a "network exception"
    (stream.py:84).
    """

    def __init__(self, channel: DingTalkChannel) -> None:
        super().__init__()
        self.channel = channel

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        if text.startswith("unknown message topic, topic=ping,"):
            return False
        return not (self.channel._stopping and text.startswith("[start] network exception"))


SDK_LOGGER = "bot.channels.dingtalk.sdk"
SECRET_BEARING_LOGGERS = (SDK_LOGGER, "websockets.client")


# --- outgoing ---------------------------------------------------------------------------


def template_of(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The OpenAPI template (msgKey, msgParam) that sends a robot message body as it stands."""
    kind = body.get("msgtype")
    if kind == "markdown":
        markdown = body["markdown"]
        return "sampleMarkdown", {"title": markdown["title"], "text": markdown["text"]}
    if kind == "text":
        return "sampleText", {"content": body["text"]["content"]}
    if kind == "actionCard":
        card = body["actionCard"]
        head = {"title": card["title"], "text": card["text"]}
        if card.get("singleTitle"):
            return "sampleActionCard", {**head, "singleTitle": card["singleTitle"], "singleURL": card["singleURL"]}
        buttons = card.get("btns") or []
        if len(buttons) == 2 and str(card.get("btnOrientation", "0")) == "1":
            return "sampleActionCard6", {**head, "buttonTitle1": buttons[0]["title"],
                                         "buttonUrl1": buttons[0]["actionURL"],
                                         "buttonTitle2": buttons[1]["title"], "buttonUrl2": buttons[1]["actionURL"]}
        if len(buttons) == 1:
            return "sampleActionCard", {**head, "singleTitle": buttons[0]["title"],
                                        "singleURL": buttons[0]["actionURL"]}
        if 2 <= len(buttons) <= 5:
            param = dict(head)
            for number, button in enumerate(buttons, 1):
                param[f"actionTitle{number}"] = button["title"]
                param[f"actionURL{number}"] = button["actionURL"]
            return f"sampleActionCard{len(buttons)}", param
        raise ValueError(f"钉钉卡片最多五个按钮，这张有 {len(buttons)} 个")
    raise ValueError(f"钉钉机器人不发这种消息：{kind}")


# How long a notice waits when DingTalk refuses the whole app, before it is tried again.
APP_REFUSED_WAIT = 1800.0


def failure_of(status: int, code: str, message: str, headers: Any = None) -> DeliveryError:
    """The DeliveryError an OpenAPI refusal stands for (its HTTP status, DingTalk's code and message)."""
    said = redact(f"钉钉拒绝发送（HTTP {status} {code}：{message}）")
    if code.startswith("Forbidden.AccessDenied.QpsLimit") or status == 429:
        retry_after = THROTTLE_WAIT
        with_header = (headers or {}).get("Retry-After")
        if with_header and str(with_header).isdigit():
            retry_after = float(with_header)
        return DeliveryError("retry_later", said, retry_after)
    if code == "Forbidden.AccessDenied.ApiCountLimitForOrg":
        return DeliveryError("retry_later", said, QUOTA_WAIT)
    if status >= 500:
        return DeliveryError("retry_later", said)
    if status in (401, 403) or code == "invalidClientIdOrSecret":
        # The app cannot send to anyone (its secret was reset, its permission to send robot messages
        # withdrawn): not this person's doing, and marking everyone unreachable would stop their
        # notices for good once the administrator puts it right. Each waits, and the log says why.
        log.error("钉钉拒绝本应用发送消息（HTTP %s %s）：请检查应用的密钥和“机器人发送消息”权限", status, code)
        return DeliveryError("retry_later", said, APP_REFUSED_WAIT)
    if status == 404 or "not.found" in code or "notExist" in code or "not.exist" in code:
        return DeliveryError("unreachable", said)  # the group is gone, or the robot was removed from it
    return DeliveryError("dead", said)  # the message itself was refused: sending it again will not help


class _NoSuchUserError(Exception):
    """The directory has no person of that id."""


class DingTalkChannel:
    """One DingTalk app: its Stream connection for what people send, its robot for what the bot sends."""

    def __init__(self, client_id: str, client_secret: str, on_incoming: OnIncoming, *,
                 api_base: str = DINGTALK_API, oapi_base: str | None = None, robot_code: str | None = None,
                 timeout: float = 15.0,
                 stop_timeout: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        register_secret(client_secret)
        self.client_id = client_id
        self._client_secret = client_secret
        self.on_incoming = on_incoming
        self.api_base = api_base.rstrip("/")
        # A local double serves both hosts at one address; the real DingTalk has two.
        self.oapi_base = (oapi_base or (DINGTALK_OAPI if self.api_base == DINGTALK_API else self.api_base)).rstrip("/")
        self.robot_code = robot_code or client_id  # an internal app's robot code is its client id
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        self.monotonic = monotonic
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None  # (token, when to fetch a new one)
        self._token_lock = asyncio.Lock()
        self._sdk_loop: asyncio.AbstractEventLoop | None = None
        self._sdk_task: asyncio.Task[None] | None = None
        self._sdk_thread: threading.Thread | None = None
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._seen_lock = threading.Lock()
        self._stopping = False
        self._quiet = _SdkNoise(self)

    def __repr__(self) -> str:  # the secret never shows, whatever prints the channel
        return f"DingTalkChannel(client_id={self.client_id!r}, api_base={self.api_base!r})"

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Connect to DingTalk's gateway (the SDK keeps reconnecting on its own) and get ready to push."""
        self._loop = asyncio.get_running_loop()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        point_sdk_at(self.api_base)
        self._stopping = False
        for name in SECRET_BEARING_LOGGERS:
            if not any(isinstance(f, _SecretsOut) for f in logging.getLogger(name).filters):
                logging.getLogger(name).addFilter(_SecretsOut())
        sdk_log = logging.getLogger(SDK_LOGGER)
        sdk_log.addFilter(self._quiet)
        client = dingtalk_stream.DingTalkStreamClient(Credential(self.client_id, self._client_secret), logger=sdk_log)
        client.register_callback_handler(ChatbotMessage.TOPIC, _RobotMessages(self))
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._sdk_loop = loop
            self._sdk_task = loop.create_task(client.start())
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._sdk_thread = threading.Thread(target=run, name="dingtalk-stream", daemon=True)
        self._sdk_thread.start()
        while not started.is_set():  # a moment: the thread only has to make its loop
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Close the Stream connection and every task the SDK started; then the HTTP session."""
        self._stopping = True
        loop, thread = self._sdk_loop, self._sdk_thread
        if loop is not None and thread is not None and thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(self._stop_sdk(), loop)
            try:
                await asyncio.wait_for(asyncio.wrap_future(done), self.stop_timeout)
            except TimeoutError:
                # Only a connections/open call DingTalk never answers holds the SDK's loop this long
                # (it has no timeout); the thread is a daemon and ends with the process.
                log.warning("钉钉 Stream 连接未能在 %s 秒内停下", self.stop_timeout)
            else:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(self.stop_timeout)
        self._sdk_loop = self._sdk_thread = self._sdk_task = None
        logging.getLogger(SDK_LOGGER).removeFilter(self._quiet)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _stop_sdk(self) -> None:
        """On the SDK's loop: let messages being handled finish and be acknowledged, then end the rest.

        The SDK keeps no handle on the tasks it starts (a keepalive per connection, one per frame:
        stream.py, ``start``); they are this loop's tasks, found by the coroutine they run.
        """
        me = asyncio.current_task()
        handling = [t for t in asyncio.all_tasks() if t is not me and _handles_a_frame(t)]
        if handling:
            await asyncio.wait(handling, timeout=self.stop_timeout / 2)
        task = self._sdk_task
        # The SDK's loop catches one cancellation as a network failure and sleeps before it
        # reconnects (stream.py, ``start``); a cancellation during that sleep ends it.
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.05)
        others = [t for t in asyncio.all_tasks() if t is not me]
        for other in others:
            other.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # --- incoming ----------------------------------------------------------------

    async def _on_callback(self, data: dict[str, Any]) -> tuple[int, str]:
        """On the SDK's loop: one robot message, handed to the bot's loop; answered for the ACK."""
        if self._stopping:  # not acknowledged: DingTalk sends it to the next connection
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "stopping"
        incoming = incoming_from(data)
        msg_id = str(data.get("msgId", ""))
        if incoming is None:
            return AckMessage.STATUS_OK, "ignored"
        with self._seen_lock:
            if msg_id and msg_id in self._seen:
                return AckMessage.STATUS_OK, "duplicate"
            if msg_id:
                self._seen[msg_id] = None
                while len(self._seen) > SEEN_MESSAGES:
                    self._seen.popitem(last=False)
        assert self._loop is not None
        try:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.on_incoming(incoming), self._loop))
        except Exception as error:
            with self._seen_lock:
                self._seen.pop(msg_id, None)  # DingTalk sends it again: let it through then
            log.error("钉钉消息处理失败：%s", redact(repr(error)))
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "error"
        return AckMessage.STATUS_OK, "OK"

    # --- outgoing ----------------------------------------------------------------

    async def push(self, address: str, is_group: bool, bodies: list[dict[str, Any]]) -> None:
        """Send each body to a person (staff id) or a group (openConversationId), in order."""
        for body in bodies:
            try:
                msg_key, param = template_of(body)
            except (KeyError, TypeError, ValueError) as error:
                raise DeliveryError("dead", f"钉钉消息无法发送：{error}") from None
            request: dict[str, Any] = {"robotCode": self.robot_code, "msgKey": msg_key,
                                       "msgParam": json.dumps(param, ensure_ascii=False)}
            if is_group:
                request["openConversationId"] = address
                await self._robot_call("/v1.0/robot/groupMessages/send", request)
            else:
                request["userIds"] = [address]
                answer = await self._robot_call("/v1.0/robot/oToMessages/batchSend", request)
                if address in (answer.get("invalidStaffIdList") or []):
                    raise DeliveryError("unreachable", "钉钉找不到此人，或此人不在机器人的可见范围内")
                if address in (answer.get("flowControlledStaffIdList") or []):
                    raise DeliveryError("retry_later", "钉钉暂时限制了发给此人的消息", FLOW_CONTROL_WAIT)

    async def download(self, ref: str) -> bytes:
        """The bytes of a file a person sent (``IncomingFile.ref`` is its downloadCode)."""
        answer = await self._robot_call("/v1.0/robot/messageFiles/download",
                                        {"robotCode": self.robot_code, "downloadCode": ref})
        http = self._session()
        try:
            async with http.get(answer["downloadUrl"]) as response:
                if response.status != 200:
                    raise DeliveryError("retry_later", f"钉钉文件下载失败（HTTP {response.status}）")
                return await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError("retry_later", f"钉钉文件下载失败：{type(error).__name__}") from None

    # --- the directory (bot/channels/directory.py) --------------------------------------

    async def departments(self) -> list[Department]:
        """Every department under the organisation, one level at a time (listsub gives one level)."""
        found: list[Department] = []
        parents = [ROOT_DEPARTMENT]
        while parents:
            parent = parents.pop(0)
            result = await self._contact_call("/topapi/v2/department/listsub",
                                              {"dept_id": parent, "language": "zh_CN"})
            for entry in result if isinstance(result, list) else []:
                number = entry.get("dept_id")
                if not isinstance(number, int):
                    continue
                found.append(Department(str(number), str(entry.get("name", "")),
                                        "" if parent == ROOT_DEPARTMENT else str(parent)))
                parents.append(number)
        return found

    async def person(self, user_id: str) -> DirectoryPerson | None:
        """A person by staff id (userid: what the robot's messages carry as senderStaffId)."""
        try:
            result = await self._contact_call("/topapi/v2/user/get", {"userid": user_id, "language": "zh_CN"})
        except _NoSuchUserError:
            return None
        if not isinstance(result, dict):
            return None
        departments = tuple(str(number) for number in result.get("dept_id_list") or []
                            if number != ROOT_DEPARTMENT)
        chains: tuple[tuple[str, ...], ...] = ()
        if departments:
            try:
                chains = aligned_chains(departments, await self._chains(user_id))
            except _NoSuchUserError:  # gone between the two calls
                return None
        return DirectoryPerson(str(result.get("userid") or user_id), str(result.get("name") or ""),
                               str(result["mobile"]) if result.get("mobile") else None, departments, chains)

    async def _chains(self, user_id: str) -> list[tuple[str, ...]]:
        """Each of the person's departments with those above it (the department first, the organisation
        left out), as ``listparentbyuser`` gives them in one call."""
        result = await self._contact_call("/topapi/v2/department/listparentbyuser", {"userid": user_id})
        entries = result.get("parent_list") if isinstance(result, dict) else None
        return [tuple(str(number) for number in entry.get("parent_dept_id_list") or []
                      if isinstance(number, int) and number != ROOT_DEPARTMENT)
                for entry in entries or [] if isinstance(entry, dict)]

    async def _contact_call(self, path: str, body: dict[str, Any]) -> Any:
        """One contact API call with the app token: its ``result``, or a DirectoryError to say."""
        for attempt in (1, 2):
            try:
                token = await self._access_token()
                async with self._session().post(self.oapi_base + path, params={"access_token": token},
                                                json=body) as response:
                    answer = await response.json(content_type=None)
            except DeliveryError as error:
                raise DirectoryError(f"暂时读不到钉钉通讯录（{error.detail}），请稍后再试。") from None
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                raise DirectoryError(f"暂时读不到钉钉通讯录（{type(error).__name__}），请稍后再试。") from None
            code = answer.get("errcode") if isinstance(answer, dict) else None
            if code == 0:
                return answer.get("result")
            if code == TOKEN_INVALID and attempt == 1:
                self._token = None
                continue
            if code in (NO_SUCH_USER, INVALID_USERID):
                raise _NoSuchUserError()
            if code in (NO_PERMISSION, OUT_OF_RANGE, AUTHORIZATION_REQUIRED):
                raise DirectoryError("本应用没有读取钉钉通讯录的权限：请管理员在钉钉开发者后台为应用开通"
                                     "“通讯录部门信息读权限”和“成员信息读权限”，并把通讯录范围设为所需部门。")
            message = redact(str(answer.get("errmsg", ""))) if isinstance(answer, dict) else ""
            raise DirectoryError(f"钉钉通讯录拒绝了请求（错误码 {code}：{message}）。")
        raise AssertionError("unreachable")

    async def _robot_call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One OpenAPI call with the app token; a token DingTalk no longer knows is fetched again once."""
        for attempt in (1, 2):
            token = await self._access_token()
            status, answer, headers = await self._post(path, body, {TOKEN_HEADER: token})
            if status == 200:
                return answer
            if status == 401 and attempt == 1:
                self._token = None
                continue
            raise failure_of(status, str(answer.get("code", "")), str(answer.get("message", "")), headers)
        raise AssertionError("unreachable")

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is not None and self.monotonic() < self._token[1]:
                return self._token[0]
            status, answer, headers = await self._post(
                "/v1.0/oauth2/accessToken", {"appKey": self.client_id, "appSecret": self._client_secret}, {})
            if status != 200 or not answer.get("accessToken"):
                raise failure_of(status, str(answer.get("code", "")), str(answer.get("message", "")), headers)
            lifetime = float(answer.get("expireIn", 7200))
            self._token = (str(answer["accessToken"]), self.monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2))
            return self._token[0]

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._http

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
        try:
            async with self._session().post(self.api_base + path, json=body, headers=headers) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {}
                return response.status, answer if isinstance(answer, dict) else {}, response.headers
        except TimeoutError:
            raise DeliveryError("retry_later", "钉钉未在时限内回答") from None
        except aiohttp.ClientError as error:
            raise DeliveryError("retry_later", f"连不上钉钉：{type(error).__name__}") from None
