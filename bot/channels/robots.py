"""One-way group robots: reminders and the weekly digest posted into a unit's or the leadership's group.

Each of the three platforms lets a group add a robot that anyone holding its webhook address can
post into; nobody can answer it. DingTalk's custom robot (自定义机器人) and Feishu's custom bot
(自定义机器人) may also be given a signing secret (加签 / 签名校验); WeCom's group robot (群机器人)
has none, the ``key`` in its address being the whole credential.

``RobotClient.post`` sends one message body the renderer already built in the platform's own JSON
and sorts every answer into a ``DeliveryError`` for the outbox. The three platforms answer a refusal
with HTTP 200 and an error code in the body, so the body, never the status, says whether a message
went out.

The webhook address carries the credential (DingTalk's ``access_token``, WeCom's ``key``, Feishu's
path token), so neither it nor the secret ever goes into a log line or an error's detail: a hook is
named by its channel and ``name`` only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import aiohttp
import yarl

from bot.channels import CHANNEL_NAMES, Channel, DeliveryError
from tasks.redaction import HIDDEN, redact

log = logging.getLogger(__name__)

# DingTalk: "每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟".
DINGTALK_THROTTLE_SECONDS = 600.0
# WeCom blocks what it stops by the minute for sixty seconds (its frequency-limit page).
WECOM_THROTTLE_SECONDS = 60.0
# Feishu names no penalty; waiting out a whole minute clears both its per-second and per-minute windows.
FEISHU_THROTTLE_SECONDS = 60.0

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class RobotLimits:
    """How fast one robot may post before its platform refuses it, and how long it is then stopped."""

    per_minute: int
    per_second: int | None
    penalty_seconds: float


def robot_limits(channel: Channel) -> RobotLimits:
    """The sending limit of one group robot on ``channel`` (each robot is limited on its own)."""
    if channel == "dingtalk":
        return RobotLimits(per_minute=20, per_second=None, penalty_seconds=DINGTALK_THROTTLE_SECONDS)
    if channel == "wecom":
        return RobotLimits(per_minute=20, per_second=None, penalty_seconds=WECOM_THROTTLE_SECONDS)
    if channel == "feishu":
        return RobotLimits(per_minute=100, per_second=5, penalty_seconds=0.0)
    raise ValueError(f"{channel} 没有群机器人")


@dataclass(frozen=True)
class RobotHook:
    """One group robot as configured: where it posts, and the secret it signs with ("" when unsigned)."""

    channel: Channel
    name: str  # how people and logs call it, e.g. "城建局工作群"; never the address
    url: str = field(repr=False)
    secret: str = field(default="", repr=False)

    def credentials(self) -> list[str]:
        """Every value in this hook that must not be shown: the secret, the address, its token."""
        values = [self.secret, self.url]
        parts = urlsplit(self.url)
        values += [value for _, value in parse_qsl(parts.query)]
        if self.channel == "feishu" and parts.path.rstrip("/"):
            values.append(parts.path.rstrip("/").rsplit("/", 1)[-1])
        return [value for value in values if value]


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: HMAC-SHA256 keyed by the secret over "timestamp\\nsecret", base64 (not yet urlencoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's 签名校验: "timestamp\\nsecret" is the HMAC-SHA256 key, the message is empty; base64."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotClient:
    """Posts rendered messages to group robots over one aiohttp session (given, or owned and closed here)."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout
        self._clock = clock

    async def __aenter__(self) -> RobotClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _signed(self, hook: RobotHook, body: dict[str, Any]) -> tuple[yarl.URL, dict[str, Any]]:
        """The address and body to send, with the platform's signature where the hook has a secret."""
        if hook.channel == "dingtalk" and hook.secret:
            timestamp = int(self._clock() * 1000)
            separator = "&" if urlsplit(hook.url).query else "?"
            sign = quote_plus(dingtalk_sign(hook.secret, timestamp))
            # The hook's address is already encoded as the platform gave it; the signature is urlencoded
            # here exactly as DingTalk's recipe says, so neither is encoded a second time.
            return yarl.URL(f"{hook.url}{separator}timestamp={timestamp}&sign={sign}", encoded=True), body
        if hook.channel == "feishu" and hook.secret:
            timestamp = int(self._clock())
            return yarl.URL(hook.url, encoded=True), {
                **body,
                "timestamp": str(timestamp),
                "sign": feishu_sign(hook.secret, timestamp),
            }
        return yarl.URL(hook.url, encoded=True), body

    async def post(self, hook: RobotHook, body: dict[str, Any]) -> None:
        """Send one message body; raises ``DeliveryError`` unless the platform took it."""
        if hook.channel not in ("dingtalk", "wecom", "feishu"):
            raise DeliveryError("dead", f"{hook.name}：{hook.channel} 没有群机器人")
        try:
            url, payload = self._signed(hook, body)
        except ValueError as error:  # an address that is not one
            raise DeliveryError("unreachable", _detail(hook, f"机器人地址无效：{type(error).__name__}")) from None
        try:
            async with self._http().post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=self._timeout), allow_redirects=False
            ) as response:
                status = response.status
                raw = await response.read()
                retry_header = response.headers.get("Retry-After")
        except TimeoutError:
            raise DeliveryError("retry_later", _detail(hook, f"{self._timeout:g} 秒内没有应答")) from None
        except aiohttp.InvalidURL:
            raise DeliveryError("unreachable", _detail(hook, "机器人地址无效")) from None
        except aiohttp.ClientError as error:
            # aiohttp names the address it was asking in its messages: only the error's kind is kept.
            raise DeliveryError("retry_later", _detail(hook, f"连接失败（{type(error).__name__}）")) from None
        _sort_answer(hook, status, raw, retry_header)
        log.debug("robot %s/%s took a message", hook.channel, hook.name)


def _detail(hook: RobotHook, text: str) -> str:
    """An error's detail naming the hook by its name, with every credential of the hook hidden."""
    text = f"{CHANNEL_NAMES.get(hook.channel, hook.channel)}机器人「{hook.name}」：{text}"
    for secret in sorted(hook.credentials(), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return redact(text)


def _retry_after(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def _sort_answer(hook: RobotHook, status: int, raw: bytes, retry_header: str | None) -> None:
    """Return if the platform took the message; otherwise raise the ``DeliveryError`` its answer means."""
    if status >= 500:
        raise DeliveryError("retry_later", _detail(hook, f"平台暂时出错（HTTP {status}）"))
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if status == 429:
            raise DeliveryError("retry_later", _detail(hook, "平台限流（HTTP 429）"), _retry_after(retry_header))
        if status in (401, 403, 404, 410):
            raise DeliveryError("unreachable", _detail(hook, f"机器人地址不可用（HTTP {status}）"))
        if 200 <= status < 300:
            # Taken or not cannot be told; trying again later is the lesser harm than losing a reminder.
            raise DeliveryError("retry_later", _detail(hook, f"平台应答无法识别（HTTP {status}）"))
        raise DeliveryError("dead", _detail(hook, f"平台拒收（HTTP {status}）"))
    if hook.channel == "feishu":
        code = answer.get("code", answer.get("StatusCode"))
        message = str(answer.get("msg", answer.get("StatusMessage", "")))
    else:
        code = answer.get("errcode")
        message = str(answer.get("errmsg", ""))
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    if code == 0:
        return
    if code is None:
        if 200 <= status < 300:
            raise DeliveryError("retry_later", _detail(hook, f"平台应答无法识别（HTTP {status}）"))
        raise DeliveryError("dead", _detail(hook, f"平台拒收（HTTP {status}）"))
    said = f"错误码 {code}：{message[:200]}"
    kind, retry_after = {"dingtalk": _dingtalk_kind, "wecom": _wecom_kind, "feishu": _feishu_kind}[hook.channel](
        code, message.lower()
    )
    if kind == "retry_later" and retry_after is None and status == 429:
        retry_after = _retry_after(retry_header)
    raise DeliveryError(kind, _detail(hook, said), retry_after)


Sorted = tuple[str, float | None]

# DingTalk's custom robot. 310000 is its security check (keywords not in content / invalid timestamp /
# sign not match / ip not in whitelist): every one of them refuses all this robot's messages until its
# settings are mended. 300005 is what a removed or reset robot's token answers; 400101/400102/400106/
# 400013 are the token missing, the robot stopped, the robot not found, the group dissolved.
_DINGTALK_THROTTLED = {130101, 410100}
_DINGTALK_GONE = {310000, 300005, 400101, 400102, 400106, 400013}


def _dingtalk_kind(code: int, message: str) -> Sorted:
    if code in _DINGTALK_THROTTLED:
        return "retry_later", DINGTALK_THROTTLE_SECONDS
    if code == -1:  # 系统繁忙
        return "retry_later", None
    if code in _DINGTALK_GONE:
        return "unreachable", None
    if code == 300001:
        # The older answers used 300001 for an unknown token and for a bad parameter alike.
        return ("unreachable", None) if "token" in message else ("dead", None)
    # 40035 a parameter missing, 43004 not JSON, 400105 an unknown msgtype, 460101 over 20000 bytes, …
    return "dead", None


# WeCom's group robot: 45009 its frequency limit, 93000 "invalid webhook url" (the key is wrong or the
# robot was removed from the group); 40008 an unknown msgtype, 44004 empty content, 40058 a parameter
# refused (content over 2048/4096 bytes among them), 45002 content too large.
def _wecom_kind(code: int, _message: str) -> Sorted:
    if code == 45009:
        return "retry_later", WECOM_THROTTLE_SECONDS
    if code == -1:  # 系统繁忙
        return "retry_later", None
    if code == 93000:
        return "unreachable", None
    return "dead", None


# Feishu's custom bot: 11232 "frequency limited"; 19001 the webhook token invalid (bot removed),
# 19007 Bot Not Enabled, 19021 sign match fail or timestamp out of the hour, 19022 Ip Not Allowed,
# 19024 Key Words Not Found; 19002 msg_type missing; 9499 "Bad Request" (malformed, over 20 KB) — though
# Feishu has also been seen answering 9499 with "too many request" when it meant its frequency limit.
_FEISHU_GONE = {19001, 19007, 19021, 19022, 19024}


def _feishu_kind(code: int, message: str) -> Sorted:
    if code == 11232 or (code == 9499 and ("frequency" in message or "too many" in message)):
        return "retry_later", FEISHU_THROTTLE_SECONDS
    if code in _FEISHU_GONE:
        return "unreachable", None
    return "dead", None
