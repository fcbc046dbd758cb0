"""A local WeCom (企业微信) for the intelligent robot's long connection, as the official SDK sees it.

WeCom's 智能机器人 in long-connection mode (developer.work.weixin.qq.com/document/path/101463) is
one WebSocket at ``wss://openws.work.weixin.qq.com``; ``wecom-aibot-python-sdk`` (``aibot``)
speaks it. Every frame is JSON ``{cmd, headers: {req_id}, body}``; answers carry no cmd, only the
request's ``req_id`` with ``errcode``/``errmsg``:

- ``aibot_subscribe`` with ``bot_id`` + ``secret`` opens the session; one live connection per bot,
  and a newer one makes the platform send the older an ``aibot_event_callback`` whose event is
  ``disconnected_event`` and then close it.
- ``ping`` is the heartbeat; unanswered pings make the SDK drop and redial.
- ``aibot_msg_callback`` brings what a person wrote (text, image, mixed, voice, file), and
  ``aibot_event_callback`` what they did (``enter_chat``, ``template_card_event``: a card button).
  Each has a ``msgid`` the platform may deliver twice. Images and files come as a short-lived URL
  plus a per-message ``aeskey``: the bytes behind the URL are AES-256-CBC encrypted.
- ``aibot_respond_msg`` (and the welcome and card-update variants) answer a callback by echoing its
  ``req_id``; ``aibot_send_msg`` sends on the bot's own initiative to a ``chatid`` (a user id in a
  single chat, a group's chat id) with ``chat_type`` 1 or 2.

The SDK always dials with TLS (it passes its own SSL context, which ``websockets`` refuses for a
``ws://`` URL), so the double serves ``wss://`` and ``https://`` with a certificate made for this
process, and :func:`trust_double_certificate` adds it to the SDK's two SSL contexts: the only
thing besides ``ws_url`` that points the SDK here.

Error answers use WeCom's global error codes with its errmsg shape. The fault switches let a test
drop or close the connection, refuse the next sends, rate-limit, or leave a send unanswered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import itertools
import json
import os
import secrets
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# WeCom's global error codes (document path/90313) and the ones the robot's own pages name.
OK = 0
SYSTEM_BUSY = -1
INVALID_CREDENTIAL = 40001  # the secret does not match the bot
INVALID_MEDIA_ID = 40007
INVALID_MSGTYPE = 40008
INVALID_PARAMETER = 40058
EMPTY_CONTENT = 44004
CONTENT_TOO_LONG = 45002
FREQ_OUT_OF_LIMIT = 45009
IP_NOT_ALLOWED = 60020
USER_NOT_FOUND = 60111
CHAT_NOT_FOUND = 86003
BOT_NOT_IN_CHAT = 93008
INVALID_BOT_ID = 93019
INVALID_REQ_ID = 846605

ERRMSG = {
    OK: "ok",
    SYSTEM_BUSY: "system busy",
    INVALID_CREDENTIAL: "invalid credential",
    INVALID_MEDIA_ID: "invalid media_id",
    INVALID_MSGTYPE: "invalid message type",
    INVALID_PARAMETER: "invalid Request Parameter",
    EMPTY_CONTENT: "empty content",
    CONTENT_TOO_LONG: "content size out of limit",
    FREQ_OUT_OF_LIMIT: "api freq out of limit",
    IP_NOT_ALLOWED: "not allow to access from your ip",
    USER_NOT_FOUND: "invalid userid",
    CHAT_NOT_FOUND: "invalid chatid",
    BOT_NOT_IN_CHAT: "robot not in the chat",
    INVALID_BOT_ID: "invalid bot_id",
    INVALID_REQ_ID: "invalid req_id",
}

# What the robot can send proactively without uploading media first; the media kinds need a
# media_id from the chunked upload, which the double does not offer.
SENDABLE = {"markdown", "template_card"}
MEDIA_KINDS = {"file", "image", "voice", "video"}
CARD_TYPES = {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
MARKDOWN_LIMIT_BYTES = 20480
# The platform's download links are good for five minutes.
LINK_TTL_SECONDS = 300.0
# PKCS#7 as WeCom pads its encrypted payloads: to whole 32-byte blocks.
PAD_BLOCK = 32


# ---- the certificate this process's doubles serve, and the SDK's trust in it ----

_certificate: tuple[bytes, bytes] | None = None
_trusted = False


def double_certificate() -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for 127.0.0.1 and localhost, made once per process."""
    global _certificate
    if _certificate is None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "taskbot wecom double")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256())
        )
        _certificate = (
            cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    return _certificate


def trust_double_certificate() -> None:
    """Make the SDK trust the double's certificate, in this process.

    The SDK builds its SSL contexts once, at import, from certifi's bundle (aibot/ws.py and
    aibot/api.py) and takes no context from its caller; adding a trust anchor to those two
    contexts is the one change besides ``ws_url`` that lets it reach a local ``wss://`` server.
    """
    global _trusted
    if _trusted:
        return
    import aibot.api
    import aibot.ws

    pem = double_certificate()[0].decode()
    for context in (aibot.ws._SSL_CONTEXT, aibot.api._SSL_CONTEXT):
        context.load_verify_locations(cadata=pem)
    _trusted = True


def _server_ssl_context() -> ssl.SSLContext:
    cert_pem, key_pem = double_certificate()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # load_cert_chain reads files only; the pair lives on disk just long enough to be read.
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        with open(cert_path, "wb") as out:
            out.write(cert_pem)
        with open(key_path, "wb") as out:
            out.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


# ---- the file encryption as the platform does it ----


def encrypt_media(data: bytes) -> tuple[bytes, str]:
    """(encrypted bytes, aeskey) as WeCom serves a file: AES-256-CBC, IV the key's first 16 bytes.

    The aeskey is base64 without its trailing '=' (the SDK pads it back, aibot/crypto_utils.py).
    """
    key = os.urandom(32)
    pad = PAD_BLOCK - len(data) % PAD_BLOCK
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypted = encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()
    return encrypted, base64.b64encode(key).decode().rstrip("=")


def _errmsg(errcode: int) -> str:
    """WeCom's errmsg: the reason, a hint id, and where to look the code up."""
    hint = f"{int(time.time() * 1000)}{secrets.randbelow(10**9):09d}"
    return (
        f"{ERRMSG.get(errcode, 'error')}, hint: [{hint}], from ip: 127.0.0.1, "
        f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    )


def answer(req_id: str, errcode: int = OK) -> dict[str, Any]:
    """The platform's answer to a request frame: its req_id, errcode and errmsg."""
    return {"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": "ok" if errcode == OK else _errmsg(errcode)}


# ---- what the double keeps ----


@dataclass
class Sent:
    """One message the robot put on the wire and the platform accepted."""

    cmd: str
    chatid: str
    chat_type: int
    body: dict[str, Any]  # as the bot gave it: without chatid and chat_type
    req_id: str


@dataclass
class _Session:
    ws: web.WebSocketResponse
    request: web.Request
    bot_id: str = ""
    authenticated: bool = False


@dataclass
class _Callback:
    frame: dict[str, Any]
    chatid: str  # where an answer to it lands: the group, or the person
    chat_type: int


@dataclass
class _Media:
    data: bytes
    name: str
    expires: float


@dataclass
class Faults:
    """Switches a test flips; each send consults them in this order."""

    hang_sends: bool = False  # accept sends and never answer
    fail_sends: list[int] = field(default_factory=list)  # the next sends' errcodes, one each
    rate_limited_sends: int = 0  # the next sends answered 45009
    ignore_heartbeats: bool = False
    auth_errcode: int = OK  # the next subscribe answered with this


class WeComDouble:
    """WeCom's long-connection gateway and media store on 127.0.0.1, for one robot."""

    def __init__(
        self,
        bot_id: str = "aibDOUBLE0001",
        secret: str = "double-robot-secret-0001",
        bot_name: str = "任务助手",
        corpid: str = "wwdouble0001",
        link_ttl: float = LINK_TTL_SECONDS,
    ) -> None:
        self.bot_id = bot_id
        self.secret = secret
        self.bot_name = bot_name
        self.corpid = corpid
        self.link_ttl = link_ttl
        self.faults = Faults()
        self.users: set[str] = set()
        self.groups: dict[str, set[str]] = {}  # chatid → members; a listed group has the robot in it
        self.sent: list[Sent] = []
        self.refused: list[tuple[str, int]] = []  # (cmd, errcode) of every send answered with an error
        self.frames: list[dict[str, Any]] = []  # every frame the SDK sent, the secret blanked
        self.subscriptions = 0  # successful aibot_subscribe answers
        self.takeovers = 0
        self._sessions: list[_Session] = []
        self._callbacks: dict[str, _Callback] = {}
        self._delivered: list[dict[str, Any]] = []
        self._media: dict[str, _Media] = {}
        self._msgids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self.port = 0

    # ---- lifecycle ----

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._websocket)
        app.router.add_get("/media/{token}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=_server_ssl_context())
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WeComDouble:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def connected(self) -> bool:
        """Whether a robot connection is up and subscribed."""
        return self._live() is not None

    # ---- the connection ----

    def _live(self) -> _Session | None:
        for session in reversed(self._sessions):
            if session.authenticated and not session.ws.closed:
                return session
        return None

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(ws=ws, request=request)
        self._sessions.append(session)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    continue
                await self._on_frame(session, frame)
        finally:
            self._sessions.remove(session)
            await self._notify()
        return ws

    async def _on_frame(self, session: _Session, frame: dict[str, Any]) -> None:
        cmd = frame.get("cmd", "")
        req_id = str((frame.get("headers") or {}).get("req_id", ""))
        body = frame.get("body") or {}
        kept = json.loads(json.dumps(frame))
        if cmd == "aibot_subscribe" and isinstance(kept.get("body"), dict) and "secret" in kept["body"]:
            kept["body"]["secret"] = "***"
        self.frames.append(kept)

        if cmd == "aibot_subscribe":
            await self._subscribe(session, req_id, body)
        elif not session.authenticated:
            # Nothing but the subscription is taken before it; the platform closes such a socket.
            await session.ws.send_json(answer(req_id, INVALID_CREDENTIAL))
            await session.ws.close()
        elif cmd == "ping":
            if not self.faults.ignore_heartbeats:
                await session.ws.send_json(answer(req_id))
        elif cmd == "aibot_send_msg":
            await self._send(session, req_id, body)
        elif cmd in ("aibot_respond_msg", "aibot_respond_welcome_msg", "aibot_respond_update_msg"):
            await self._respond(session, cmd, req_id, body)
        else:
            await session.ws.send_json(answer(req_id, INVALID_PARAMETER))
        await self._notify()

    async def _subscribe(self, session: _Session, req_id: str, body: dict[str, Any]) -> None:
        errcode = self.faults.auth_errcode
        self.faults.auth_errcode = OK
        if errcode == OK and body.get("bot_id") != self.bot_id:
            errcode = INVALID_BOT_ID
        if errcode == OK and body.get("secret") != self.secret:
            errcode = INVALID_CREDENTIAL
        if errcode != OK:
            await session.ws.send_json(answer(req_id, errcode))
            await session.ws.close()
            return
        earlier = self._live()
        session.bot_id = body["bot_id"]
        session.authenticated = True
        self.subscriptions += 1
        await session.ws.send_json(answer(req_id))
        if earlier is not None and earlier is not session:
            # One connection per robot: the older one is told, then closed by the platform.
            self.takeovers += 1
            event = self._event_body("", None, {"eventtype": "disconnected_event"})
            with contextlib.suppress(Exception):
                await earlier.ws.send_json(
                    {"cmd": "aibot_event_callback", "headers": {"req_id": self._req_id()}, "body": event}
                )
                await earlier.ws.close()

    def _refuse_by_fault(self) -> int | None:
        if self.faults.fail_sends:
            return self.faults.fail_sends.pop(0)
        if self.faults.rate_limited_sends > 0:
            self.faults.rate_limited_sends -= 1
            return FREQ_OUT_OF_LIMIT
        return None

    def _body_problem(self, body: dict[str, Any]) -> int | None:
        msgtype = body.get("msgtype")
        if msgtype in MEDIA_KINDS:
            return INVALID_MEDIA_ID
        if msgtype not in SENDABLE:
            return INVALID_MSGTYPE
        if msgtype == "markdown":
            content = (body.get("markdown") or {}).get("content")
            if not isinstance(content, str) or not content.strip():
                return EMPTY_CONTENT
            if len(content.encode()) > MARKDOWN_LIMIT_BYTES:
                return CONTENT_TOO_LONG
            return None
        card = body.get("template_card")
        if not isinstance(card, dict) or card.get("card_type") not in CARD_TYPES:
            return INVALID_PARAMETER
        if card["card_type"] == "button_interaction" and (not card.get("task_id") or not card.get("button_list")):
            return INVALID_PARAMETER
        return None

    async def _send(self, session: _Session, req_id: str, body: dict[str, Any]) -> None:
        if self.faults.hang_sends:
            return
        chatid = body.get("chatid")
        chat_type = body.get("chat_type")
        errcode = self._refuse_by_fault()
        if errcode is None and (not isinstance(chatid, str) or not chatid):
            errcode = INVALID_PARAMETER
        if errcode is None:
            # Without chat_type the platform looks for a group first; a person's id is then not found.
            if chat_type == 1:
                errcode = None if chatid in self.users else USER_NOT_FOUND
            elif chat_type in (2, None):
                errcode = None if chatid in self.groups else CHAT_NOT_FOUND
            else:
                errcode = INVALID_PARAMETER
        payload = {k: v for k, v in body.items() if k not in ("chatid", "chat_type")}
        if errcode is None:
            errcode = self._body_problem(payload)
        if errcode is None:
            self.sent.append(Sent("aibot_send_msg", chatid, chat_type or 2, payload, req_id))
            await session.ws.send_json(answer(req_id))
        else:
            self.refused.append(("aibot_send_msg", errcode))
            await session.ws.send_json(answer(req_id, errcode))

    async def _respond(self, session: _Session, cmd: str, req_id: str, body: dict[str, Any]) -> None:
        if self.faults.hang_sends:
            return
        callback = self._callbacks.get(req_id)
        errcode = self._refuse_by_fault()
        if errcode is None and callback is None:
            errcode = INVALID_REQ_ID
        if errcode is None and cmd == "aibot_respond_msg" and body.get("msgtype") not in (
            "stream",
            "template_card",
            "stream_with_template_card",
            "markdown",
        ):
            errcode = INVALID_MSGTYPE
        if errcode is None and callback is not None:
            self.sent.append(Sent(cmd, callback.chatid, callback.chat_type, dict(body), req_id))
            await session.ws.send_json(answer(req_id))
        else:
            self.refused.append((cmd, errcode or SYSTEM_BUSY))
            await session.ws.send_json(answer(req_id, errcode or SYSTEM_BUSY))

    # ---- the media store ----

    async def _download(self, request: web.Request) -> web.StreamResponse:
        media = self._media.get(request.match_info["token"])
        if media is None:
            return web.Response(status=404, text="NoSuchKey")
        if time.monotonic() > media.expires:
            return web.Response(status=403, text="Request has expired")
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(media.name)}",
        }
        return web.Response(body=media.data, headers=headers)

    def _store(self, data: bytes, name: str) -> tuple[str, str]:
        encrypted, aeskey = encrypt_media(data)
        token = secrets.token_hex(12)
        self._media[token] = _Media(encrypted, name, time.monotonic() + self.link_ttl)
        sign = secrets.token_hex(20)
        return f"{self.base_url}/media/{token}?sign=q-sign-algorithm%3Dsha1%26q-signature%3D{sign}", aeskey

    # ---- what people do ----

    def _req_id(self) -> str:
        return f"{secrets.token_hex(8)}_{int(time.time() * 1000)}"

    def _msgid(self) -> str:
        return base64.b64encode(f"CAIQ{next(self._msgids):08d}{secrets.token_hex(4)}".encode()).decode()

    def _message_body(self, userid: str, chat: str | None, msgtype: str, content: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "msgid": self._msgid(),
            "aibotid": self.bot_id,
            "chattype": "group" if chat else "single",
            "from": {"userid": userid},
            "response_url": f"{self.base_url}/response/{secrets.token_hex(8)}",
            "msgtype": msgtype,
            **content,
        }
        if chat:
            body["chatid"] = chat
        return body

    def _event_body(self, userid: str, chat: str | None, event: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "msgid": self._msgid(),
            "create_time": int(time.time()),
            "aibotid": self.bot_id,
            "chattype": "group" if chat else "single",
            "from": {"corpid": self.corpid, "userid": userid},
            "msgtype": "event",
            "event": event,
        }
        if chat:
            body["chatid"] = chat
        return body

    async def _deliver(self, cmd: str, body: dict[str, Any], userid: str, chat: str | None) -> str:
        self.users.add(userid)
        if chat:
            self.groups.setdefault(chat, set()).add(userid)
        session = await self._wait_live()
        req_id = self._req_id()
        frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        self._callbacks[req_id] = _Callback(frame, chat or userid, 2 if chat else 1)
        self._delivered.append(frame)
        await session.ws.send_json(frame)
        return body["msgid"]

    async def _wait_live(self, timeout: float = 5.0) -> _Session:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self._live() is not None), timeout)
        session = self._live()
        assert session is not None
        return session

    async def person_says(self, userid: str, text: str, chat: str | None = None, at_bot: bool = False) -> str:
        """A person writes ``text`` to the robot (in group ``chat``, @-ing it when ``at_bot``); the msgid."""
        content = f"@{self.bot_name} {text}" if at_bot else text
        body = self._message_body(userid, chat, "text", {"text": {"content": content}})
        return await self._deliver("aibot_msg_callback", body, userid, chat)

    async def person_speaks(self, userid: str, transcript: str) -> str:
        """A voice message in a single chat: the platform passes on its transcript."""
        body = self._message_body(userid, None, "voice", {"voice": {"content": transcript}})
        return await self._deliver("aibot_msg_callback", body, userid, None)

    async def person_sends_file(
        self, userid: str, data: bytes, name: str = "文件.bin", kind: str = "file", chat: str | None = None
    ) -> str:
        """A person sends a file (``kind`` "file") or a picture ("image"); the msgid."""
        url, aeskey = self._store(data, name)
        body = self._message_body(userid, chat, kind, {kind: {"url": url, "aeskey": aeskey}})
        return await self._deliver("aibot_msg_callback", body, userid, chat)

    async def person_sends_mixed(self, userid: str, text: str, picture: bytes, chat: str | None = None) -> str:
        """Text and a picture in one message (图文混排)."""
        url, aeskey = self._store(picture, "image.png")
        items = [
            {"msgtype": "text", "text": {"content": f"@{self.bot_name} {text}" if chat else text}},
            {"msgtype": "image", "image": {"url": url, "aeskey": aeskey}},
        ]
        body = self._message_body(userid, chat, "mixed", {"mixed": {"msg_item": items}})
        return await self._deliver("aibot_msg_callback", body, userid, chat)

    async def person_taps(self, userid: str, key: str, task_id: str, chat: str | None = None) -> str:
        """A person taps the button ``key`` on the button card ``task_id``; the msgid."""
        event = {
            "eventtype": "template_card_event",
            "template_card_event": {"card_type": "button_interaction", "event_key": key, "task_id": task_id},
        }
        body = self._event_body(userid, chat, event)
        body["response_url"] = f"{self.base_url}/response/{secrets.token_hex(8)}"
        return await self._deliver("aibot_event_callback", body, userid, chat)

    async def person_enters(self, userid: str) -> str:
        """A person opens the robot's single chat for the first time today."""
        body = self._event_body(userid, None, {"eventtype": "enter_chat"})
        return await self._deliver("aibot_event_callback", body, userid, None)

    async def redeliver_last(self) -> None:
        """Push the last callback again, same msgid, as the platform may after a network hiccup."""
        frame = dict(self._delivered[-1])
        frame["headers"] = {"req_id": self._req_id()}
        session = await self._wait_live()
        await session.ws.send_json(frame)

    # ---- the platform's own changes ----

    def remove_bot_from(self, chatid: str) -> None:
        """The robot is taken out of a group: sends there are refused from now on."""
        self.groups.pop(chatid, None)

    def user_leaves(self, userid: str) -> None:
        """A person leaves the organisation."""
        self.users.discard(userid)

    # ---- faults ----

    def fail_next_sends(self, count: int, errcode: int) -> None:
        self.faults.fail_sends.extend([errcode] * count)

    def rate_limit(self, count: int = 1) -> None:
        self.faults.rate_limited_sends += count

    def hang(self, on: bool = True) -> None:
        self.faults.hang_sends = on

    def refuse_next_subscribe(self, errcode: int) -> None:
        self.faults.auth_errcode = errcode

    def drop_connection(self) -> None:
        """Cut the robot's TCP connection without a closing handshake, as a network failure does."""
        session = self._live()
        if session is not None and session.request.transport is not None:
            session.request.transport.abort()

    async def close_connection(self, code: int = 1000) -> None:
        """Close the robot's connection with a closing handshake."""
        session = self._live()
        if session is not None:
            await session.ws.close(code=code)

    # ---- what a test reads ----

    def messages_to(self, chat_or_user: str) -> list[dict[str, Any]]:
        """The bodies the robot got accepted for a group or a person, in order."""
        return [sent.body for sent in self.sent if sent.chatid == chat_or_user]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Until ``condition()`` holds (checked whenever a frame arrives or a connection ends)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def wait_connected(self, subscriptions: int = 1, timeout: float = 5.0) -> None:
        """Until the robot has subscribed ``subscriptions`` times in all and a connection is up."""
        await self.wait_for(lambda: self.subscriptions >= subscriptions and self.connected, timeout)
