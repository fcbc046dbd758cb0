"""Feishu both ways, through its maker's SDK (``lark-oapi``): the long connection in, the IM API out.

In: ``lark_oapi.ws.Client`` holds Feishu's long connection (a WebSocket carrying protobuf frames) and
hands each event to an ``EventDispatcherHandler``; a person's message (``im.message.receive_v1``) and
a card button tap (``card.action.trigger``, which Feishu sends over the same connection in a frame of
type ``card``, which the SDK itself drops: see ``_CardTapsClient``) become an ``Incoming`` given to
``on_incoming`` on our own asyncio loop.

The SDK's WebSocket client is built for a program of its own: ``start()`` blocks for ever on an event
loop the module ``lark_oapi.ws.client`` creates when it is imported (its ``loop``), and the client has
no stop. So it runs here in a thread of its own, on that module loop, constructed in that thread so
the cache task its constructor schedules lands on the same loop; stopping cancels every task on that
loop, closes the connection with the client's own ``_disconnect`` (the SDK's own ``FeishuChannel``
stops it the same way), and lets the thread end. One consequence: the loop is one per process, so
one ``FeishuChannel`` runs at a time in a process; and this module must be imported where no event
loop is running (else that loop is the one the SDK took), which ``start`` checks.

The SDK's dispatcher calls our handler on its thread; the handler only hands the ``Incoming`` to our
loop and returns, so the frame is acknowledged at once (Feishu re-pushes an event not acknowledged
within seconds). Re-pushed events carry the same event_id, and are passed on once.

Out: ``push`` sends bodies already rendered for Feishu with the SDK's IM client
(``im.v1.message.acreate``), and sorts every failure into a ``DeliveryError``. The tenant_access_token
is fetched and kept here (``enable_set_token``), not by the SDK's token manager: that one keeps it in a
process-wide cache keyed by app_id, fetches it with blocking ``requests`` even on the async path, and
never drops a token Feishu calls invalid.

The app secret never reaches a log: the SDK's logger is held at WARNING, because at INFO it logs the
long connection's URL, whose query carries the connection's access key and ticket.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import lark_oapi as lark
import lark_oapi.ws.client as lark_ws_client
import lark_oapi.ws.const as lark_ws_const
from lark_oapi.api.auth.v3 import InternalTenantAccessTokenRequest, InternalTenantAccessTokenRequestBody
from lark_oapi.api.contact.v3 import ChildrenDepartmentRequest, GetUserRequest, ParentDepartmentRequest
from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    GetMessageResourceRequest,
    P2ImMessageReceiveV1,
)
from lark_oapi.core.utils import Files
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)
from lark_oapi.ws.model import Response as LarkWsResponse

from bot.channels import DeliveryError, Incoming, IncomingFile
from bot.channels.directory import Department, DirectoryError, DirectoryPerson, aligned_chains

log = logging.getLogger(__name__)

FEISHU_DOMAIN = lark.FEISHU_DOMAIN
# Feishu's business codes (the open platform's error pages), sorted by what the outbox can do.
RATE_LIMITED = {99991400, 230020}  # the app's API frequency; this chat's or person's frequency
TOKEN_REFUSED = {99991661, 99991663, 99991668}  # missing / invalid tenant_access_token
UNREACHABLE = {
    230002,  # the bot is not in the group (removed, or the group is gone)
    230013,  # the person is outside the app's availability
    230035,  # no permission to send here (muted group, tenant's communication rules)
    232009,  # the group was dissolved
    99992361,  # the open_id is not of this app
    99992351,  # the open_id does not exist
}
DEAD = {
    230001,  # invalid parameter: malformed body
    230022,  # sensitive content
    230025,  # content too long
    230028,  # refused by data-loss prevention
    230099,  # the card cannot be built
}
# The contact API's refusals: the app lacks the contact scope; the department, or the person, is
# outside the app's contacts range; no such person.
NO_CONTACT_SCOPE, NO_DEPARTMENT_AUTHORITY, NO_USER_AUTHORITY, NO_SUCH_USER = 99991672, 40004, 41050, 41012
ROOT_DEPARTMENT = "0"  # the tenant itself, whose children are the departments
DEPARTMENT_PAGE = 50  # the most contact v3 gives in one page of a department's children or parents
RECENT_EVENTS = 2048  # event_ids remembered to pass a re-pushed event on once
NAME_RETRY = 600.0  # seconds before asking Feishu again for a name it would not give
BUTTON_KEY = "data"  # a card button's value is {"data": Button.callback_data}


def button_value(callback_data: str) -> dict[str, str]:
    """The ``value`` of a card button whose tap arrives as ``Incoming.button == callback_data``."""
    return {BUTTON_KEY: callback_data}


def file_ref(message_id: str, kind: str, key: str) -> str:
    """``IncomingFile.ref`` for Feishu: what the message resource API needs to fetch it again."""
    return f"{message_id}/{kind}/{key}"


GROUP_MARK = "group"
# Feishu waits three seconds for an event's acknowledgement: taking an event may use most of them.
HAND_OVER_WAIT = 2.5


def marked_for_group(body: dict[str, Any]) -> dict[str, Any]:
    """A card for a group whose buttons' values say it was sent to a group."""
    card = body.get("card")
    if not isinstance(card, dict):
        return body
    elements = []
    for element in card.get("elements", []):
        if isinstance(element, dict) and isinstance(element.get("actions"), list):
            actions = [{**action, "value": {**action["value"], GROUP_MARK: "1"}}
                       if isinstance(action, dict) and isinstance(action.get("value"), dict) else action
                       for action in element["actions"]]
            element = {**element, "actions": actions}
        elements.append(element)
    return {**body, "card": {**card, "elements": elements}}


def _body_content(body: dict[str, Any]) -> tuple[str, str]:
    """(msg_type, content as the JSON string Feishu takes) from a rendered body."""
    msg_type = body.get("msg_type")
    if not isinstance(msg_type, str):
        raise DeliveryError("dead", "飞书消息缺少 msg_type")
    if "content" in body:
        content = body["content"]
    elif msg_type == "interactive" and "card" in body:
        content = body["card"]
    elif msg_type == "text" and "text" in body:
        content = {"text": body["text"]}
    else:
        raise DeliveryError("dead", f"飞书 {msg_type} 消息缺少内容")
    return msg_type, content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _retry_after(headers: dict[str, str]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "x-ogw-ratelimit-reset":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None
    return None


class _CardTapsClient(lark.ws.Client):
    """The SDK's WebSocket client, answering card callbacks too.

    Feishu sends a card button tap over the long connection as a data frame of type ``card``; lark-oapi
    (1.7.5 and the versions before it) returns on such a frame without handing it to the dispatcher or
    answering it (lark_oapi/ws/client.py, ``_handle_data_frame``), so the tap is lost and the person sees
    Feishu's "出错了，请稍后重试". This override handles a ``card`` frame exactly as the SDK handles an
    ``event`` frame, and leaves every other frame to the SDK. It leans on the SDK's private method and its
    frame type, which is why it is one small class that ``FeishuChannel(card_taps=False)`` does without.
    """

    async def _handle_data_frame(self, frame: Any) -> None:
        headers = {h.key: h.value for h in frame.headers}
        if headers.get(lark_ws_const.HEADER_TYPE) != "card":
            await super()._handle_data_frame(frame)
            return
        payload = frame.payload
        if int(headers.get(lark_ws_const.HEADER_SUM, "1")) > 1:
            payload = self._combine(headers[lark_ws_const.HEADER_MESSAGE_ID], int(headers[lark_ws_const.HEADER_SUM]),
                                    int(headers.get(lark_ws_const.HEADER_SEQ, "0")), payload)
            if payload is None:
                return
        answer = LarkWsResponse(code=HTTPStatus.OK)
        started = time.monotonic()
        try:
            result = self._event_handler._do_without_validation(payload)
            elapsed = frame.headers.add()
            elapsed.key, elapsed.value = lark_ws_const.HEADER_BIZ_RT, str(int((time.monotonic() - started) * 1000))
            if result is not None:
                answer.data = base64.b64encode(lark.JSON.marshal(result).encode())
        except Exception:
            log.exception("处理飞书卡片回调出错")
            answer = LarkWsResponse(code=HTTPStatus.INTERNAL_SERVER_ERROR)
        frame.payload = lark.JSON.marshal(answer).encode()
        await self._write_message(frame.SerializeToString())


class FeishuChannel:
    """One Feishu app (one bot): its long connection in, its IM API out."""

    def __init__(self, app_id: str, app_secret: str, on_incoming: Callable[[Incoming], Awaitable[None]], *,
                 domain: str = FEISHU_DOMAIN, timeout: float = 15.0, card_taps: bool = True) -> None:
        self._app_id = app_id
        self._card_taps = card_taps
        self._app_secret = app_secret
        self._on_incoming = on_incoming
        self._domain = domain.rstrip("/")
        self._api = (lark.Client.builder().app_id(app_id).app_secret(app_secret).domain(self._domain)
                     .enable_set_token(True).timeout(timeout).log_level(lark.LogLevel.WARNING).build())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ws: lark.ws.Client | None = None
        self._token = ""
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()  # touched on the SDK's thread only
        self._groups: set[str] = set()  # chat_ids known to be groups (a tap does not say)
        self._names: dict[str, tuple[str, float]] = {}  # open_id → (name, when to ask again if none)
        self._deliveries: set[asyncio.Future[None]] = set()
        self.bot_open_id = ""
        self.failure: BaseException | None = None  # why the long connection ended, if it did by itself

    # --- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Learn the bot's own open_id, then hold the long connection in the SDK's thread."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        if lark_ws_client.loop is self._loop or lark_ws_client.loop.is_running():
            raise RuntimeError("飞书长连接的事件循环已被占用：请在没有运行中事件循环的地方导入 bot.channels.feishu，"
                               "且同一进程只运行一个飞书通道")
        try:
            await self._learn_bot()
        except DeliveryError as error:
            # Without it an @ of the bot is still told by there being one; the connection matters more.
            log.warning("未能取得飞书机器人信息：%s", error.detail)
        handler = (lark.EventDispatcherHandler.builder("", "")
                   .register_p2_im_message_receive_v1(self._on_message)
                   .register_p2_card_action_trigger(self._on_card_action)
                   .build())
        self.failure = None
        self._thread = threading.Thread(target=self._hold_connection, args=(handler,), name="feishu-ws",
                                        daemon=True)
        self._thread.start()

    def _hold_connection(self, handler: lark.EventDispatcherHandler) -> None:
        ws_loop = lark_ws_client.loop
        asyncio.set_event_loop(ws_loop)
        try:
            client_class = _CardTapsClient if self._card_taps else lark.ws.Client
            self._ws = client_class(self._app_id, self._app_secret, log_level=lark.LogLevel.WARNING,
                                    event_handler=handler, domain=self._domain)
            self._ws.start()
        except asyncio.CancelledError:
            pass  # stop() cancelled the loop's tasks
        except BaseException as error:  # the thread must end cleanly whatever the SDK raised
            self.failure = error
            log.error("飞书长连接已停止：%s: %s", type(error).__name__, error)
        finally:
            ws_loop.run_until_complete(self._quiet_loop())
            asyncio.set_event_loop(None)

    async def _quiet_loop(self) -> None:
        """Cancel every task left on the SDK's loop and close the connection, so nothing outlives us."""
        me = asyncio.current_task()
        pending = {t for t in asyncio.all_tasks() if t is not me}
        while pending:
            # The ping loop sleeps in a ``finally``, so a task may need cancelling more than once.
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=0.5)
        if self._ws is not None:
            # A Feishu that no longer answers the closing handshake must not hold the stop up.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ws._disconnect(), 3)

    async def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        ws_loop = lark_ws_client.loop

        async def halt() -> None:
            if threading.current_thread() is thread:  # a halt left over from an earlier channel does nothing
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

        halted = asyncio.run_coroutine_threadsafe(halt(), ws_loop)
        deadline = time.monotonic() + 10
        while thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if thread.is_alive():
            log.error("飞书长连接线程未能按时结束")
        else:
            halted.cancel()  # never run if the thread ended before the loop came round to it
            thread.join()
        self._thread = None
        self._ws = None
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)

    # --- in -------------------------------------------------------------------------------------------

    def _seen(self, event_id: str | None) -> bool:
        if not event_id:
            return False
        if event_id in self._recent:
            return True
        self._recent[event_id] = None
        while len(self._recent) > RECENT_EVENTS:
            self._recent.popitem(last=False)
        return False

    def _hand_over(self, incoming: Incoming) -> None:
        """On the SDK's thread: give the Incoming to our loop; raising makes the SDK answer 500.

        The SDK acknowledges the event once this returns, and Feishu then never sends it again: so
        this waits for our side to have taken it (stored it, and most often acted and answered),
        within the time Feishu waits for an acknowledgement."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._deliver(incoming), self._loop)
        self._loop.call_soon_threadsafe(self._track, future)
        with contextlib.suppress(TimeoutError, concurrent.futures.TimeoutError):
            future.result(timeout=HAND_OVER_WAIT)

    def _track(self, future: Any) -> None:
        wrapped = asyncio.wrap_future(future)
        self._deliveries.add(wrapped)
        wrapped.add_done_callback(self._deliveries.discard)

    async def _deliver(self, incoming: Incoming) -> None:
        try:
            if incoming.user_ref and not incoming.name:
                incoming = dataclasses.replace(incoming, name=await self._name_of(incoming.user_ref))
            await self._on_incoming(incoming)
        except Exception:
            log.exception("处理飞书消息出错")

    def _on_message(self, data: P2ImMessageReceiveV1) -> None:
        if data.header is not None and self._seen(data.header.event_id):
            return
        event = data.event
        message, sender = event.message, event.sender
        if message is None or sender is None or sender.sender_id is None:
            return
        if sender.sender_type not in (None, "user"):
            return  # another app's bot
        is_group = message.chat_type != "p2p"
        user_ref = sender.sender_id.open_id or ""
        if is_group and message.chat_id:
            self._groups.add(message.chat_id)
        try:
            content = json.loads(message.content or "{}")
        except json.JSONDecodeError:
            content = {}
        mentions = message.mentions or []
        mentions_bot = any(m.id is not None and m.id.open_id == self.bot_open_id for m in mentions) \
            if self.bot_open_id else bool(mentions)
        text, files = "", []
        kind = message.message_type
        if kind == "text":
            text = self._plain_text(content.get("text", ""), mentions)
        elif kind == "post":
            text = self._post_text(content, mentions)
        elif kind == "image" and content.get("image_key"):
            files.append(IncomingFile("photo", "图片.jpg", 0, file_ref(message.message_id, "image",
                                                                         content["image_key"])))
        elif kind == "file" and content.get("file_key"):
            files.append(IncomingFile("document", content.get("file_name") or "文件", 0,
                                      file_ref(message.message_id, "file", content["file_key"])))
        else:
            return  # stickers, audio, shared chats: nothing the bot reads
        self._hand_over(Incoming(channel="feishu", user_ref=user_ref,
                                 address=message.chat_id if is_group else user_ref, is_group=is_group,
                                 name="", text=text, files=files, mentions_bot=mentions_bot,
                                 message_id=message.message_id or ""))

    def _plain_text(self, text: str, mentions: list[Any]) -> str:
        # Feishu writes an @ as a key ("@_user_1") in the text and names it in ``mentions``.
        for mention in mentions:
            if not mention.key:
                continue
            # Not knowing the bot's own id (Feishu did not say it at start), an @ that opens the
            # message is taken for the bot's: in a group Feishu passes the bot only what @s it.
            ours = (mention.id is not None and mention.id.open_id == self.bot_open_id) if self.bot_open_id \
                else text.lstrip().startswith(mention.key)
            if ours:
                text = re.sub(re.escape(mention.key) + r"\s?", "", text)
            else:
                text = text.replace(mention.key, f"@{mention.name or ''}")
        return text.replace("@_all", "@所有人").strip()

    def _post_text(self, content: dict[str, Any], mentions: list[Any]) -> str:
        # A rich-text message arrives as {"title": …, "content": [[{"tag": …}, …], …]} in the event.
        lines = [content.get("title") or ""]
        for paragraph in content.get("content") or []:
            parts = []
            for element in paragraph:
                if element.get("tag") in ("text", "a"):
                    parts.append(element.get("text", ""))
                elif element.get("tag") == "at":
                    # Its user_id is the mention's key, which _plain_text resolves as in a text message.
                    key = element.get("user_id") or ""
                    parts.append(key if key.startswith("@_") else f"@{element.get('user_name', '')}")
            lines.append("".join(parts))
        return self._plain_text("\n".join(line for line in lines if line), mentions)

    def _on_card_action(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        if data.header is not None and self._seen(data.header.event_id):
            return P2CardActionTriggerResponse({})
        event = data.event
        operator = event.operator.open_id if event.operator else ""
        value = (event.action.value if event.action else None) or {}
        chat_id = event.context.open_chat_id if event.context else ""
        # A group card's buttons say so (``marked_for_group``): a tap does not, and after a restart the
        # groups seen in this process are not known.
        is_group = bool(chat_id) and (value.get(GROUP_MARK) == "1" or chat_id in self._groups)
        self._hand_over(Incoming(channel="feishu", user_ref=operator or "", address=chat_id if is_group else operator,
                                 is_group=is_group, name="", button=str(value.get(BUTTON_KEY, "")),
                                 message_id=(data.header.event_id or "") if data.header is not None else ""))
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "已收到"}})

    # --- out ------------------------------------------------------------------------------------------

    async def _tenant_token(self, *, fresh: bool = False) -> str:
        async with self._token_lock:
            if not fresh and self._token and time.monotonic() < self._token_until:
                return self._token
            request = (InternalTenantAccessTokenRequest.builder()
                       .request_body(InternalTenantAccessTokenRequestBody.builder()
                                     .app_id(self._app_id).app_secret(self._app_secret).build())
                       .build())
            answer = await self._call(self._api.auth.v3.tenant_access_token.ainternal(request), "获取飞书访问凭证")
            # Feishu puts the token beside code and msg, not under data, so it is read from the raw body.
            body = self._json(answer.raw)
            if body.get("code") != 0 or not body.get("tenant_access_token"):
                raise DeliveryError("retry_later", f"飞书应用凭证被拒绝（错误码 {body.get('code')}）")
            self._token = body["tenant_access_token"]
            # Renewed well before Feishu's expiry, as Feishu advises.
            self._token_until = time.monotonic() + max(float(body.get("expire", 0)) - 300, 60)
            return self._token

    async def _call(self, call: Awaitable[Any], what: str) -> Any:
        try:
            return await call
        except DeliveryError:
            raise
        except json.JSONDecodeError:
            raise DeliveryError("retry_later", f"{what}：飞书的回答无法解读") from None
        except Exception as error:  # the SDK's httpx errors: timeouts, refused connections
            raise DeliveryError("retry_later", f"{what}：{type(error).__name__}") from None

    @staticmethod
    def _json(raw: Any) -> dict[str, Any]:
        try:
            body = json.loads(raw.content)
        except (ValueError, AttributeError, TypeError):
            return {}
        return body if isinstance(body, dict) else {}

    async def _with_token(self, send: Callable[[lark.RequestOption], Awaitable[Any]], what: str) -> Any:
        for attempt in range(2):
            token = await self._tenant_token(fresh=attempt > 0)
            option = lark.RequestOption.builder().tenant_access_token(token).build()
            response = await self._call(send(option), what)
            if response.code in TOKEN_REFUSED and attempt == 0:
                continue  # the kept token went stale: fetch a fresh one once
            return response
        return response

    async def _learn_bot(self) -> None:
        request = (lark.BaseRequest.builder().http_method(lark.HttpMethod.GET).uri("/open-apis/bot/v3/info")
                   .token_types({lark.AccessTokenType.TENANT}).build())
        response = await self._with_token(lambda option: self._api.arequest(request, option), "获取飞书机器人信息")
        body = self._json(response.raw)
        if body.get("code") != 0:
            raise DeliveryError("retry_later", f"飞书机器人信息获取失败（错误码 {body.get('code')}）")
        self.bot_open_id = (body.get("bot") or {}).get("open_id", "")

    async def _name_of(self, open_id: str) -> str:
        """The person's name from Feishu's contacts (the events carry none); "" if the app may not read it."""
        known = self._names.get(open_id)
        if known is not None and (known[0] or time.monotonic() < known[1]):
            return known[0]
        request = GetUserRequest.builder().user_id(open_id).user_id_type("open_id").build()
        name = ""
        try:
            response = await self._with_token(lambda option: self._api.contact.v3.user.aget(request, option),
                                              "读取飞书通讯录")
            if response.code == 0 and response.data is not None and response.data.user is not None:
                name = response.data.user.name or ""
        except DeliveryError:
            pass
        # A refusal (outside the contacts range, or no contacts permission) is asked again only later.
        self._names[open_id] = (name, time.monotonic() + NAME_RETRY)
        return name

    # --- the directory (bot/channels/directory.py) ----------------------------------------------------

    async def departments(self) -> list[Department]:
        """Every department under the tenant (``fetch_child``: all levels), by open_department_id."""
        found: list[Department] = []
        page_token = ""
        while True:
            builder = (ChildrenDepartmentRequest.builder().department_id(ROOT_DEPARTMENT)  # type: ignore[arg-type]
                       .department_id_type("open_department_id").user_id_type("open_id")
                       .fetch_child(True).page_size(DEPARTMENT_PAGE))
            if page_token:
                builder = builder.page_token(page_token)
            request = builder.build()
            response = await self._contact(
                lambda option, request=request: self._api.contact.v3.department.achildren(request, option))
            data = response.data
            for item in (data.items if data is not None else None) or []:
                if item.open_department_id:
                    parent = item.parent_department_id or ""
                    found.append(Department(item.open_department_id, item.name or "",
                                            "" if parent == ROOT_DEPARTMENT else parent))
            if data is None or not data.has_more or not data.page_token:
                return found
            page_token = data.page_token

    async def person(self, user_id: str) -> DirectoryPerson | None:
        """A person by open_id (what the events carry), with their departments' open_department_ids."""
        request = (GetUserRequest.builder().user_id(user_id).user_id_type("open_id")
                   .department_id_type("open_department_id").build())
        response = await self._contact(lambda option: self._api.contact.v3.user.aget(request, option),
                                       missing_is_none=True)
        if response is None or response.data is None or response.data.user is None:
            return None
        user = response.data.user
        departments = tuple(d for d in user.department_ids or [] if d != ROOT_DEPARTMENT)
        chains = [await self._chain(department) for department in departments]
        return DirectoryPerson(user.open_id or user_id, user.name or "", user.mobile or None, departments,
                               aligned_chains(departments, chains))

    async def _chain(self, department_id: str) -> tuple[str, ...]:
        """The department and those above it, nearest first (``departments/parent``, which leaves out the
        tenant and any department outside the app's contacts range). One the app may not see stands alone."""
        chain = [department_id]
        page_token = ""
        while True:
            builder = (ParentDepartmentRequest.builder().department_id(department_id)
                       .department_id_type("open_department_id").user_id_type("open_id").page_size(DEPARTMENT_PAGE))
            if page_token:
                builder = builder.page_token(page_token)
            request = builder.build()
            response = await self._contact(
                lambda option, request=request: self._api.contact.v3.department.aparent(request, option),
                hidden_is_none=True)
            if response is None:
                return tuple(chain)
            data = response.data
            chain += [item.open_department_id for item in (data.items if data is not None else None) or []
                      if item.open_department_id and item.open_department_id != ROOT_DEPARTMENT]
            if data is None or not data.has_more or not data.page_token:
                return tuple(chain)
            page_token = data.page_token

    async def _contact(self, send: Callable[[lark.RequestOption], Awaitable[Any]], *,
                       missing_is_none: bool = False, hidden_is_none: bool = False) -> Any:
        """One contact v3 call; a refusal or a failure as a DirectoryError to say. None, when asked for,
        for a person Feishu does not know, or a department outside the app's contacts range."""
        try:
            response = await self._with_token(send, "读取飞书通讯录")
        except DeliveryError as error:
            raise DirectoryError(f"暂时读不到飞书通讯录（{error.detail}），请稍后再试。") from None
        if response.code == 0:
            return response
        if missing_is_none and response.code == NO_SUCH_USER:
            return None
        if hidden_is_none and response.code == NO_DEPARTMENT_AUTHORITY:
            return None
        if response.code in (NO_CONTACT_SCOPE, NO_DEPARTMENT_AUTHORITY, NO_USER_AUTHORITY):
            raise DirectoryError("本应用没有读取飞书通讯录的权限：请管理员在飞书开发者后台为应用开通通讯录读取权限"
                                 "（含部门信息和手机号），并把通讯录权限范围设为所需部门。")
        raise DirectoryError(f"飞书通讯录拒绝了请求（错误码 {response.code}）。")

    async def push(self, address: str, is_group: bool, bodies: list[dict[str, Any]]) -> None:
        """Send each body to a person (open_id) or a group (chat_id), in order; a failure stops the rest."""
        receive_id_type = "chat_id" if is_group else "open_id"
        for number, body in enumerate(bodies, start=1):
            msg_type, content = _body_content(marked_for_group(body) if is_group else body)
            request = (CreateMessageRequest.builder().receive_id_type(receive_id_type)
                       .request_body(CreateMessageRequestBody.builder().receive_id(address).msg_type(msg_type)
                                     .content(content).build())
                       .build())
            response = await self._with_token(
                lambda option, request=request: self._api.im.v1.message.acreate(request, option), "发送飞书消息")
            if response.code == 0:
                if is_group:
                    self._groups.add(address)
                continue
            raise self._sorted(response, number, len(bodies))

    def _sorted(self, response: Any, number: int, total: int) -> DeliveryError:
        raw = response.raw
        status = getattr(raw, "status_code", 0)
        code = response.code
        sent = f"（第 {number}/{total} 条）" if total > 1 else ""
        detail = f"飞书拒收{sent}：错误码 {code}，{response.msg or ''}".rstrip("，")
        if status == 429 or code in RATE_LIMITED:
            return DeliveryError("retry_later", detail, retry_after=_retry_after(getattr(raw, "headers", {}) or {}))
        if code in TOKEN_REFUSED:
            return DeliveryError("retry_later", detail)
        if code in UNREACHABLE:
            return DeliveryError("unreachable", detail)
        if code in DEAD:
            return DeliveryError("dead", detail)
        if status >= 500 or code is None:
            return DeliveryError("retry_later", f"飞书服务暂不可用{sent}：HTTP {status}")
        return DeliveryError("dead", detail)

    async def download(self, ref: str) -> tuple[bytes, str]:
        """A file or picture a person sent, by ``IncomingFile.ref``: (its bytes, its name)."""
        message_id, kind, key = ref.split("/", 2)
        request = GetMessageResourceRequest.builder().message_id(message_id).file_key(key).type(kind).build()
        response = await self._with_token(lambda option: self._api.im.v1.message_resource.aget(request, option),
                                          "下载飞书文件")
        if response.code != 0 or response.file is None:
            raise self._sorted(response, 1, 1)
        name = response.file_name
        if not name:
            # On the async path the SDK looks for "Content-Disposition" among httpx's lower-cased header names.
            headers = {k.lower(): v for k, v in (getattr(response.raw, "headers", None) or {}).items()}
            disposition = headers.get("content-disposition")
            name = Files.parse_file_name({"Content-Disposition": disposition}) if disposition else ""
        return response.file.read(), name or ""
