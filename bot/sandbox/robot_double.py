"""A local stand-in for the three platforms' group-robot webhooks, answering as they answer.

One aiohttp server plays DingTalk's ``POST /robot/send?access_token=…``, WeCom's
``POST /cgi-bin/webhook/send?key=…`` and Feishu's ``POST /open-apis/bot/v2/hook/{token}``. Robots are
registered with a token and, for DingTalk and Feishu, an optional signing secret; the signature is
checked as the platform checks it (the timestamp within an hour of the server's clock), each robot's
sending limit is kept, and every refusal is the platform's own: HTTP 200 with its error code in the
body (Feishu's "Bad Request" alone comes with HTTP 400).

Everything taken and everything refused is recorded, so a test can read what a group received and
assert that nothing was refused; with each message taken, whom it @'d (``Received.mentions``), as
the platform would: DingTalk @s the ``at.atMobiles`` of a text message, and of a markdown message
those its text names as "@13800000000" (a number only in ``atMobiles`` is not shown as an @ there);
WeCom @s the ``mentioned_mobile_list`` of a text message only (its document names the field for
text alone; whether its server refuses the field on markdown or ignores it is not documented, and
the double ignores it: such a message @s nobody); Feishu's custom bot @s by open_id only, never by
a number. Mention fields of the wrong type are refused as a malformed request (WeCom's 40058;
DingTalk's code for it is not documented, the double answers 40035, a parameter error).

The clock is a callable returning seconds, so a test moves time instead of sleeping. Faults a test
can switch on: the next answers 5xx, the next answers hang, a robot removed from its group.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.channels import Channel
from bot.channels.robots import RobotHook
from bot.sandbox.threaded import start_on_own_loop, stop_own_loop

DINGTALK_PATH = "/robot/send"
WECOM_PATH = "/cgi-bin/webhook/send"
FEISHU_PATH = "/open-apis/bot/v2/hook/"

# The platforms' own limits, kept here apart from the client's so that a wrong figure there shows here.
DINGTALK_PER_MINUTE = 20
DINGTALK_THROTTLE = 600.0  # "如果超过20条，会限流10分钟"
WECOM_PER_MINUTE = 20
FEISHU_PER_MINUTE = 100
FEISHU_PER_SECOND = 5
SIGNATURE_WINDOW = 3600.0  # both DingTalk and Feishu take a timestamp up to an hour away from their clock

DINGTALK_BODY_LIMIT = 20000
WECOM_TEXT_LIMIT = 2048
WECOM_MARKDOWN_LIMIT = 4096
FEISHU_BODY_LIMIT = 20 * 1024

DINGTALK_TYPES = {"text", "link", "markdown", "actionCard", "feedCard"}
WECOM_TYPES = {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}
FEISHU_TYPES = {"text", "post", "image", "share_chat", "interactive"}


@dataclass
class Robot:
    channel: Channel
    token: str
    secret: str = ""
    revoked: bool = False
    sent: deque[float] = field(default_factory=deque)  # when its recent messages were taken
    throttled_until: float = 0.0


@dataclass(frozen=True)
class Received:
    """A message a group received."""

    channel: Channel
    token: str
    body: dict[str, Any]
    at: float
    mentions: tuple[str, ...] = ()  # the mobile numbers it @'d ("@all": everyone)


@dataclass(frozen=True)
class Refusal:
    """An answer that was not "taken": the platform's error code, or an injected fault (code None)."""

    channel: Channel
    token: str
    status: int
    code: int | None
    message: str
    at: float


class _RefusedError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _hint() -> str:
    return str(secrets.randbits(80))


class RobotDouble:
    """The three group-robot webhooks on one loopback port; ``start`` it, register robots, ``stop`` it."""

    def __init__(self, clock: Callable[[], float] = time.time, host: str = "127.0.0.1") -> None:
        self.clock = clock
        self.host = host
        self.port = 0
        self.received: list[Received] = []
        self.refusals: list[Refusal] = []
        self._robots: dict[tuple[str, str], Robot] = {}
        self._fail_next: list[int] = []  # the statuses the next answers take, one each
        self._hang_next = 0
        self._hang_seconds = 0.0
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # its own, when started in a thread
        self._thread: threading.Thread | None = None

    # ---- life ----

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(DINGTALK_PATH, self._dingtalk)
        app.router.add_post(WECOM_PATH, self._wecom)
        app.router.add_post(FEISHU_PATH + "{token}", self._feishu)
        self._stopping = asyncio.Event()
        # No access log: its request lines carry the robots' tokens, which the sandbox must not print.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping.set()  # lets a hanging answer go, so stopping never waits on it
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> RobotDouble:
        """Run the double on its own event loop in a daemon thread (a test that is not async, a
        process under test posting to it); ``stop_thread`` ends it."""
        async def start() -> None:
            self._loop = asyncio.get_running_loop()
            await self.start()

        self._thread = start_on_own_loop("robot-double", start, self.stop)
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            stop_own_loop(self._loop, self._thread, "robot double")
            self._loop = self._thread = None

    async def __aenter__(self) -> RobotDouble:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- robots ----

    def add_robot(self, channel: Channel, token: str | None = None, secret: str = "") -> Robot:
        if channel == "wecom" and secret:
            raise ValueError("企业微信群机器人没有签名密钥")
        robot = Robot(channel, token or secrets.token_hex(16), secret)
        self._robots[(channel, robot.token)] = robot
        return robot

    def url_for(self, channel: Channel, token: str) -> str:
        """The webhook address the platform would show for this robot, pointing here."""
        if channel == "dingtalk":
            return f"{self.base_url}{DINGTALK_PATH}?access_token={token}"
        if channel == "wecom":
            return f"{self.base_url}{WECOM_PATH}?key={token}"
        return f"{self.base_url}{FEISHU_PATH}{token}"

    def hook(self, robot: Robot, name: str = "工作群", secret: str | None = None) -> RobotHook:
        """A client's hook for ``robot`` (``secret`` overrides the robot's, to sign wrongly on purpose)."""
        return RobotHook(robot.channel, name, self.url_for(robot.channel, robot.token),
                         robot.secret if secret is None else secret)

    def revoke(self, robot: Robot) -> None:
        """The robot is removed from its group: its address answers as a removed robot's does."""
        robot.revoked = True

    def messages(self, robot: Robot) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.channel == robot.channel and r.token == robot.token]

    def mentioned(self, robot: Robot) -> list[tuple[str, ...]]:
        """Whom each message ``robot`` posted @'d, in order."""
        return [r.mentions for r in self.received if r.channel == robot.channel and r.token == robot.token]

    # ---- faults ----

    def fail_next(self, count: int = 1, status: int = 502) -> None:
        self._fail_next.extend([status] * count)

    def hang_next(self, seconds: float, count: int = 1) -> None:
        """The next ``count`` requests get no answer for ``seconds`` (then the usual one)."""
        self._hang_next, self._hang_seconds = count, seconds

    # ---- the endpoints ----

    async def _fault(self, channel: Channel, token: str) -> web.Response | None:
        if self._hang_next > 0:
            self._hang_next -= 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._hang_seconds)
        if self._fail_next:
            status = self._fail_next.pop(0)
            self.refusals.append(Refusal(channel, token, status, None, "injected fault", self.clock()))
            return web.Response(status=status, text="<html><body>502 Bad Gateway</body></html>",
                                content_type="text/html")
        return None

    async def _answer(self, request: web.Request, channel: Channel, token: str) -> web.Response:
        fault = await self._fault(channel, token)
        if fault is not None:
            return fault
        now = self.clock()
        try:
            robot, body = await self._check(channel, token, request, now)
        except _RefusedError as refused:
            self.refusals.append(Refusal(channel, token, refused.status, refused.code, refused.message, now))
            if channel == "feishu":
                return web.json_response({"code": refused.code, "data": {}, "msg": refused.message},
                                         status=refused.status)
            return web.json_response({"errcode": refused.code, "errmsg": refused.message}, status=refused.status)
        robot.sent.append(now)
        self.received.append(Received(channel, token, body, now, _mentioned(channel, body)))
        if channel == "feishu":
            return web.json_response({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {},
                                      "msg": "success"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _dingtalk(self, request: web.Request) -> web.Response:
        return await self._answer(request, "dingtalk", request.query.get("access_token", ""))

    async def _wecom(self, request: web.Request) -> web.Response:
        return await self._answer(request, "wecom", request.query.get("key", ""))

    async def _feishu(self, request: web.Request) -> web.Response:
        return await self._answer(request, "feishu", request.match_info["token"])

    async def _check(
        self, channel: Channel, token: str, request: web.Request, now: float
    ) -> tuple[Robot, dict[str, Any]]:
        raw = await request.read()
        if channel == "dingtalk":
            return self._check_dingtalk(token, request, raw, now)
        if channel == "wecom":
            return self._check_wecom(token, raw, now)
        return self._check_feishu(token, raw, now)

    # DingTalk

    def _check_dingtalk(self, token: str, request: web.Request, raw: bytes, now: float) -> tuple[Robot, dict]:
        if not token:
            raise _RefusedError(200, 40035, "缺少参数 access_token")
        robot = self._robots.get(("dingtalk", token))
        if robot is None or robot.revoked:
            raise _RefusedError(200, 300005, "token is not exist")
        if robot.secret:
            stamp = request.query.get("timestamp", "")
            if not stamp.isdigit() or abs(int(stamp) / 1000 - now) > SIGNATURE_WINDOW:
                raise _RefusedError(200, 310000, "invalid timestamp")
            digest = hmac.new(robot.secret.encode(), f"{stamp}\n{robot.secret}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(base64.b64encode(digest), request.query.get("sign", "").encode()):
                raise _RefusedError(200, 310000, "sign not match")
        if not request.content_type.startswith("application/json"):
            raise _RefusedError(200, 43004, "无效的HTTP HEADER Content-Type")
        if len(raw) > DINGTALK_BODY_LIMIT:
            raise _RefusedError(200, 460101, "message too long, exceed 20000 bytes")
        body = _json(raw)
        if body is None:
            raise _RefusedError(200, 40035, "缺少参数 json")
        kind = body.get("msgtype")
        if not kind:
            raise _RefusedError(200, 40035, "缺少参数 msgtype")
        if kind not in DINGTALK_TYPES:
            raise _RefusedError(200, 400105, "不支持的消息类型")
        needed = {"text": ("content",), "link": ("title", "text", "messageUrl"), "markdown": ("title", "text"),
                  "actionCard": ("title", "text"), "feedCard": ("links",)}[kind]
        part = body.get(kind)
        for name in needed:
            if not isinstance(part, dict) or not part.get(name):
                raise _RefusedError(200, 40035, f"缺少参数 {kind}.{name}")
        at = body.get("at")
        if at is not None:
            if not isinstance(at, dict):
                raise _RefusedError(200, 40035, "参数错误 at")
            for name in ("atMobiles", "atUserIds"):
                if name in at and not _strings(at[name]):
                    raise _RefusedError(200, 40035, f"参数错误 at.{name}")
            if "isAtAll" in at and not isinstance(at["isAtAll"], bool):
                raise _RefusedError(200, 40035, "参数错误 at.isAtAll")
        _forget_before(robot.sent, now - 60)
        if now < robot.throttled_until:
            raise _RefusedError(200, 130101, "send too fast, exceed 20 times per minute")
        if len(robot.sent) >= DINGTALK_PER_MINUTE:
            robot.throttled_until = now + DINGTALK_THROTTLE
            raise _RefusedError(200, 130101, "send too fast, exceed 20 times per minute")
        return robot, body

    # WeCom: its errmsg always carries a hint and where the request came from.

    @staticmethod
    def _wecom_refusal(code: int, what: str) -> _RefusedError:
        return _RefusedError(200, code, f"{what}, hint: [{_hint()}], from ip: 127.0.0.1, "
                                   f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}")

    def _check_wecom(self, token: str, raw: bytes, now: float) -> tuple[Robot, dict]:
        robot = self._robots.get(("wecom", token))
        if robot is None or robot.revoked:
            raise self._wecom_refusal(93000, "invalid webhook url")
        body = _json(raw)
        if body is None:
            raise self._wecom_refusal(40058, "invalid Request Parameter")
        kind = body.get("msgtype")
        if kind not in WECOM_TYPES:
            raise self._wecom_refusal(40008, "invalid message type")
        part = body.get(kind)
        if kind in ("text", "markdown", "markdown_v2"):
            content = part.get("content") if isinstance(part, dict) else None
            if not content:
                raise self._wecom_refusal(44004, "empty content")
            limit = WECOM_TEXT_LIMIT if kind == "text" else WECOM_MARKDOWN_LIMIT
            if len(str(content).encode()) > limit:
                raise self._wecom_refusal(
                    40058, f"{kind}.content exceed max length {limit}. invalid Request Parameter")
            for name in ("mentioned_list", "mentioned_mobile_list"):
                if kind == "text" and name in part and not _strings(part[name]):
                    raise self._wecom_refusal(40058, f"{kind}.{name} invalid. invalid Request Parameter")
        elif not isinstance(part, dict) or not part:
            raise self._wecom_refusal(40058, "invalid Request Parameter")
        _forget_before(robot.sent, now - 60)
        if len(robot.sent) >= WECOM_PER_MINUTE:
            raise self._wecom_refusal(45009, "api freq out of limit")
        return robot, body

    # Feishu

    def _check_feishu(self, token: str, raw: bytes, now: float) -> tuple[Robot, dict]:
        robot = self._robots.get(("feishu", token))
        if robot is None or robot.revoked:
            raise _RefusedError(200, 19001, "param invalid: incoming webhook access token invalid")
        if len(raw) > FEISHU_BODY_LIMIT:
            raise _RefusedError(400, 9499, "Bad Request")
        body = _json(raw)
        if body is None:
            raise _RefusedError(400, 9499, "Bad Request")
        if robot.secret:
            stamp = str(body.get("timestamp", ""))
            good = False
            if stamp.isdigit() and abs(int(stamp) - now) <= SIGNATURE_WINDOW:
                digest = hmac.new(f"{stamp}\n{robot.secret}".encode(), b"", hashlib.sha256).digest()
                good = hmac.compare_digest(base64.b64encode(digest), str(body.get("sign", "")).encode())
            if not good:
                raise _RefusedError(200, 19021, "sign match fail or timestamp is not within one hour from current time")
        kind = body.get("msg_type")
        if not kind:
            raise _RefusedError(200, 19002, "params error, msg_type need")
        if kind not in FEISHU_TYPES:
            raise _RefusedError(400, 9499, "Bad Request")
        content = body.get("card") if kind == "interactive" else body.get("content")
        if not isinstance(content, dict) or not content:
            raise _RefusedError(400, 9499, "Bad Request")
        _forget_before(robot.sent, now - 60)
        in_second = sum(1 for at in robot.sent if at > now - 1)
        if len(robot.sent) >= FEISHU_PER_MINUTE or in_second >= FEISHU_PER_SECOND:
            raise _RefusedError(200, 11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]")
        return robot, body


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _mentioned(channel: Channel, body: dict[str, Any]) -> tuple[str, ...]:
    """Whom a message the platform took @s, as its group shows it."""
    if channel == "dingtalk":
        kind = body.get("msgtype")
        at = body.get("at") or {}
        if kind not in ("text", "markdown"):  # a link, an actionCard or a feedCard @s nobody
            return ()
        everyone = ("@all",) if at.get("isAtAll") else ()
        mobiles = at.get("atMobiles", [])
        if kind == "markdown":
            text = str(body["markdown"].get("text", ""))
            mobiles = [mobile for mobile in mobiles if f"@{mobile}" in text]
        return everyone + tuple(mobiles)
    if channel == "wecom" and body.get("msgtype") == "text":
        return tuple(body["text"].get("mentioned_mobile_list", []))
    return ()


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _forget_before(times: deque[float], cutoff: float) -> None:
    while times and times[0] <= cutoff:
        times.popleft()
