"""WeCom (企业微信) both ways, through the intelligent robot's long connection and WeCom's own SDK.

``wecom-aibot-python-sdk`` (import ``aibot``) keeps one WebSocket to WeCom: it subscribes with
the robot's id and secret, pings, redials with backoff, and hands every callback frame to its
listeners. This module listens, turns each message or card-button tap into an ``Incoming`` for
``on_incoming``, and sends the bot's already-rendered bodies on the robot's own initiative
(``aibot_send_msg``), sorting every refusal into a ``DeliveryError``.

What the SDK (1.0.2) leaves to its caller, and this module does:

- a callback may come twice (the platform says so): msgids already seen are dropped;
- a newer connection for the same robot makes WeCom send ``disconnected_event`` and close this
  one; the SDK would dial back and take the robot from the other process in turn, so the
  channel stops instead and says so;
- a failed subscription is only reported (as an ``error`` event); the channel stops rather than
  keep a socket that will never be served;
- when the server closes the socket with a normal close code the SDK's receive loop simply ends,
  with no event and no redial: a watchdog notices the dead client and dials again;
- a refused send comes back as a RuntimeError whose text holds the errcode: it is read from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aibot import WSClient, WSClientOptions

from bot.channels import DeliveryError, Incoming, IncomingFile
from tasks.redaction import redact, register_secret

log = logging.getLogger(__name__)

OnIncoming = Callable[[Incoming], Awaitable[None]]

# Sorting WeCom's errcodes for the outbox (global codes, document path/90313).
RETRY_CODES = {
    -1,  # system busy
    45009,  # call frequency over the limit
    45033,  # too many concurrent calls
    40001,  # the robot's own secret refused: not this address's fault
    60020,  # this server's IP is not allowed: an administrator's fix, not the address's
}
UNREACHABLE_CODES = {
    60111,  # no such user (left the organisation)
    81013,  # the user is outside the robot's visible range
    86003,  # no such chat
    93008,  # the robot is not in the group any more
}
DEAD_CODES = {
    40007,  # media id
    40008,  # message type
    40058,  # a malformed parameter
    44004,  # empty content
    45002,  # content too long
}
FREQ_LIMIT = 45009
# A subscription refused with these is tried again after ``busy_backoff``; any other refusal stops.
BUSY_SUBSCRIBE_CODES = {-1, 45009, 45033}
# WeCom counts call frequency per minute and does not say when the window reopens.
FREQ_RETRY_AFTER = 60.0
_ERRCODE = re.compile(r"errcode=(-?\d+)")
_AUTH_CODE = re.compile(r"\(code: (-?\d+)\)")
_LEADING_MENTION = re.compile(r"^\s*@\S+\s*")
SEEN_LIMIT = 2048


class WeComStartError(Exception):
    """The robot could not subscribe: wrong id or secret, or WeCom refused this server."""


class WeComFileError(Exception):
    """A file a person sent could not be fetched (the link lives only minutes) or decrypted."""


class _SdkLog:
    """The SDK's log lines into ``logging``, through ``redact`` (they may repeat a callback body)."""

    def __init__(self) -> None:
        self._log = logging.getLogger(f"{__name__}.sdk")

    def _line(self, message: str, args: tuple[object, ...]) -> str:
        return redact(" ".join([str(message), *(str(a) for a in args)]))

    def debug(self, message: str, *args: object) -> None:
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("%s", self._line(message, args))

    def info(self, message: str, *args: object) -> None:
        self._log.info("%s", self._line(message, args))

    def warn(self, message: str, *args: object) -> None:
        self._log.warning("%s", self._line(message, args))

    def error(self, message: str, *args: object) -> None:
        self._log.error("%s", self._line(message, args))


def file_ref(url: str, aeskey: str) -> str:
    """The handle ``fetch_file`` takes: the download link and its key (the link lives minutes)."""
    return json.dumps({"url": url, "aeskey": aeskey}, separators=(",", ":"))


def _media_ref(media: object) -> str:
    found = media if isinstance(media, dict) else {}
    return file_ref(str(found.get("url", "")), str(found.get("aeskey", "")))


def sort_errcode(errcode: int, detail: str) -> DeliveryError:
    """A WeCom errcode as what the outbox can do about it."""
    if errcode == FREQ_LIMIT:
        return DeliveryError("retry_later", detail, FREQ_RETRY_AFTER)
    if errcode in RETRY_CODES:
        return DeliveryError("retry_later", detail)
    if errcode in UNREACHABLE_CODES:
        return DeliveryError("unreachable", detail)
    # Known malformed bodies and codes this module has never met: sending again would not help
    # and could repeat a message that did land; the outbox keeps it with the reason.
    return DeliveryError("dead", detail)


class WeComChannel:
    """The robot's long connection: incoming actions out, rendered bodies in."""

    def __init__(
        self,
        bot_id: str,
        secret: str,
        on_incoming: OnIncoming,
        *,
        ws_url: str = "",
        bot_name: str = "",
        reconnect_interval_ms: int = 1000,
        heartbeat_interval_ms: int = 30000,
        send_timeout: float = 10.0,
        ready_timeout: float = 10.0,
        watch_interval: float = 5.0,
        busy_backoff: float = 60.0,
    ) -> None:
        register_secret(secret)
        self._bot_id = bot_id
        self._secret = secret
        self._on_incoming = on_incoming
        self._ws_url = ws_url
        self._bot_name = bot_name
        self._reconnect_interval_ms = reconnect_interval_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._send_timeout = send_timeout
        self._ready_timeout = ready_timeout
        self._watch_interval = watch_interval
        self._busy_backoff = busy_backoff
        self.state = "idle"  # idle, connecting, online, taken_over, refused, stopped
        self.refusal = ""  # why the subscription was refused, in Chinese
        self._client: WSClient | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ready = asyncio.Event()
        self._sdk_retrying = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connect_task: asyncio.Task[Any] | None = None
        self._consumer: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[Any] | None = None
        self._redialer: asyncio.Task[Any] | None = None

    # ---- lifecycle ----

    async def start(self) -> None:
        """Dial and subscribe; returns once subscribed, or after ``ready_timeout`` with the SDK still dialing.

        Raises WeComStartError when WeCom refuses the robot's credentials.
        """
        self.state = "connecting"
        self._consumer = self._spawn(self._consume())
        self._watcher = self._spawn(self._watch())
        self._dial()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), self._ready_timeout)
        if self.state == "refused":
            await self.stop()
            raise WeComStartError(self.refusal)
        if self.state != "online":
            log.warning("企业微信长连接尚未建立，继续在后台重试")

    async def stop(self) -> None:
        """Disconnect and end every task this channel started."""
        if self.state != "refused":
            self.state = "stopped"
        for task in (self._consumer, self._watcher, self._redialer):
            if task is not None:
                task.cancel()
        await self._drop_client()
        # What is left are earlier disconnects (after a takeover or a refusal): let them finish.
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._consumer = self._watcher = self._redialer = None

    @property
    def is_connected(self) -> bool:
        return self.state == "online" and self._client is not None and self._client.is_connected

    def _spawn(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _dial(self) -> None:
        client = WSClient(
            WSClientOptions(
                bot_id=self._bot_id,
                secret=self._secret,
                reconnect_interval=self._reconnect_interval_ms,
                max_reconnect_attempts=-1,
                heartbeat_interval=self._heartbeat_interval_ms,
                request_timeout=int(self._send_timeout * 1000),
                ws_url=self._ws_url,
                logger=_SdkLog(),
            )
        )
        client.on("authenticated", self._authenticated)
        client.on("disconnected", self._disconnected)
        client.on("reconnecting", self._reconnecting)
        client.on("error", self._error)
        client.on("message", self._queue.put_nowait)
        client.on("event", self._queue.put_nowait)
        # Heard as the frame is read, before the socket closes, so that the watchdog never redials.
        client.on("event.disconnected_event", lambda frame: self._taken_over())
        self._client = client
        self._sdk_retrying = False
        # connect() returns once the socket is open, but only after every failed attempt before it.
        self._connect_task = self._spawn(client.connect())

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if self._connect_task is not None:
            self._connect_task.cancel()
            with contextlib.suppress(BaseException):
                await self._connect_task
            self._connect_task = None
        if client is None:
            return
        client.remove_all_listeners()
        # disconnect() closes the socket in a task of its own; wait for it so nothing outlives stop().
        before = asyncio.all_tasks()
        client.disconnect()
        closing = asyncio.all_tasks() - before
        if closing:
            await asyncio.wait(closing, timeout=5)
        await asyncio.sleep(0)

    # ---- the SDK's events ----

    def _authenticated(self) -> None:
        self._sdk_retrying = False
        if self.state in ("connecting", "online"):
            self.state = "online"
            log.info("企业微信机器人已连接")
        self._ready.set()

    def _disconnected(self, reason: str) -> None:
        log.warning("企业微信长连接断开：%s", redact(str(reason)))

    def _reconnecting(self, attempt: int) -> None:
        self._sdk_retrying = True
        if self.state == "online":
            self.state = "connecting"

    def _error(self, error: Exception) -> None:
        text = str(error)
        if text.startswith("Authentication failed"):
            found = _AUTH_CODE.search(text)
            code = int(found.group(1)) if found else None
            if code in BUSY_SUBSCRIBE_CODES:
                # WeCom is busy or counting this robot's dials: not the credentials, so try again later.
                log.warning("企业微信暂时拒绝登录（错误码 %s），稍后重连", code)
                self._redialer = self._spawn(self._redial_later())
                return
            self.refusal = (
                f"企业微信拒绝了机器人的登录（错误码 {code if code is not None else '未知'}），"
                "请核对机器人 ID、Secret 和服务器 IP。"
            )
            log.error("%s", self.refusal)
            self.state = "refused"
            self._ready.set()
            self._spawn(self._drop_client())
        elif text.startswith("Max reconnect attempts"):
            self._sdk_retrying = False
        else:
            log.warning("企业微信 SDK 报错：%s", redact(text))

    async def _drop_safely(self) -> None:
        """Drop the client in a task of its own, so that cancelling the caller cannot cut the close short."""
        await asyncio.shield(self._spawn(self._drop_client()))

    async def _redial_later(self) -> None:
        await self._drop_safely()
        await asyncio.sleep(self._busy_backoff)
        if self.state in ("connecting", "online"):
            self.state = "connecting"
            self._dial()

    async def _watch(self) -> None:
        """Dial again when the SDK's client is dead without meaning to redial."""
        while True:
            await asyncio.sleep(self._watch_interval)
            client = self._client
            if self.state not in ("online", "connecting") or client is None:
                continue
            if client.is_connected or self._sdk_retrying:
                continue
            if self._connect_task is not None and not self._connect_task.done():
                continue
            log.warning("企业微信长连接已关闭且 SDK 未重连，重新连接")
            await self._drop_safely()
            if self.state in ("online", "connecting"):
                self.state = "connecting"
                self._dial()

    # ---- incoming ----

    async def _consume(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                incoming = self._read(frame)
                if incoming is not None:
                    await self._on_incoming(incoming)
            except Exception:
                log.exception("处理企业微信消息失败")

    def _first_time(self, msgid: str) -> bool:
        if not msgid:
            return True
        if msgid in self._seen:
            return False
        self._seen[msgid] = None
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    def _strip_mention(self, text: str) -> str:
        if self._bot_name:
            return text.replace(f"@{self._bot_name}", "").strip()
        return _LEADING_MENTION.sub("", text, count=1).strip()

    def _read(self, frame: dict[str, Any]) -> Incoming | None:
        body = frame.get("body") or {}
        msgtype = body.get("msgtype", "")
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        if msgtype == "event" and event.get("eventtype") == "disconnected_event":
            return None  # handled as it arrived (_taken_over)
        if not self._first_time(str(body.get("msgid", ""))):
            return None
        userid = str((body.get("from") or {}).get("userid", ""))
        is_group = body.get("chattype") == "group"
        address = str(body.get("chatid", "")) if is_group else userid
        if not userid or not address:
            return None
        # WeCom names no one to the bot: the name is given at binding ("绑定 邀请码 姓名").
        base = {"channel": "wecom", "user_ref": userid, "address": address, "is_group": is_group, "name": "",
                "message_id": str(body.get("msgid", ""))}
        if msgtype == "event":
            if event.get("eventtype") != "template_card_event":
                return None
            # WeCom's pages nest the tap under template_card_event; the SDK's types put it on the event.
            tap = event.get("template_card_event") or event
            key = str(tap.get("event_key", ""))
            return Incoming(**base, button=key) if key else None
        text = ""
        files: list[IncomingFile] = []
        if msgtype == "text":
            text = str((body.get("text") or {}).get("content", ""))
        elif msgtype == "voice":
            text = str((body.get("voice") or {}).get("content", ""))
        elif msgtype in ("image", "file", "video"):
            kind = "photo" if msgtype == "image" else "document"
            files.append(IncomingFile(kind, "", 0, _media_ref(body.get(msgtype))))
        elif msgtype == "mixed":
            parts = []
            for item in (body.get("mixed") or {}).get("msg_item") or []:
                if item.get("msgtype") == "text":
                    parts.append(str((item.get("text") or {}).get("content", "")))
                elif item.get("msgtype") == "image":
                    files.append(IncomingFile("photo", "", 0, _media_ref(item.get("image"))))
            text = "\n".join(parts)
        else:
            return None
        if is_group:
            text = self._strip_mention(text)
        return Incoming(**base, text=text, files=files, mentions_bot=is_group)

    def _taken_over(self) -> None:
        if self.state in ("stopped", "taken_over"):
            return
        self.state = "taken_over"
        log.error("另一个程序用同一个企业微信机器人建立了连接，本连接已被关闭且不再重连")
        self._spawn(self._drop_client())

    async def fetch_file(self, ref: str) -> tuple[bytes, str]:
        """The bytes and file name behind an IncomingFile's ref, downloaded and decrypted."""
        if self._client is None:
            raise WeComFileError("企业微信连接未启动，无法下载文件。")
        try:
            handle = json.loads(ref)
            url, aeskey = str(handle["url"]), str(handle["aeskey"])
        except (ValueError, KeyError, TypeError) as error:
            raise WeComFileError("这不是企业微信的文件引用。") from error
        try:
            data, name = await self._client.download_file(url, aeskey)
        except Exception as error:
            log.warning("企业微信文件下载失败：%s", redact(str(error)))
            raise WeComFileError("文件下载失败：企业微信的文件链接只在几分钟内有效，请重新发送。") from error
        return data, name or ""

    # ---- outgoing ----

    async def push(self, address: str, is_group: bool, bodies: list[dict[str, Any]]) -> None:
        """Send each rendered body to a person (user id) or a group (chat id), in order."""
        for number, body in enumerate(bodies, start=1):
            client = self._client
            if client is None or not self.is_connected:
                raise DeliveryError("retry_later", f"企业微信长连接未连接（{self.state}）")
            where = f"第 {number}/{len(bodies)} 条"
            try:
                await asyncio.wait_for(
                    client.send_message(address, {"chat_type": 2 if is_group else 1, **body}), self._send_timeout
                )
            except TimeoutError as error:
                raise DeliveryError("retry_later", f"{where}：企业微信没有回执") from error
            except RuntimeError as error:
                text = redact(str(error))
                found = _ERRCODE.search(text)
                if found is None:  # the connection closed under the send
                    raise DeliveryError("retry_later", f"{where}：{text}") from error
                raise sort_errcode(int(found.group(1)), f"{where}：{text}") from error
