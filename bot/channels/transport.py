"""Putting a reply on the wire of a domestic platform: DingTalk, WeCom or Feishu.

One transport per platform serves both of its doors. An address ``robot:<name>`` is a one-way
group robot, posted to through its webhook (bot/channels/robots.py); ``user:<id>`` and
``group:<id>`` are chats with the platform's app, pushed to through its long connection's own
API (bot/channels/dingtalk.py, wecom.py, feishu.py). Either way the reply is rendered once for the
platform (bot/channels/renderers.py), buttons kept where a tap can come back and replaced by a
hint where it cannot, and every message of it waits its turn in the channel's flood budget.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from bot.channels import EVERY_KIND, GROUP, PERSON, ROBOT, ROBOTS_ONLY, AddressKind, Channel, DeliveryError
from bot.channels.renderers import (
    MENTION_CHANNELS,
    dingtalk_messages,
    feishu_messages,
    first_line,
    wecom_messages,
)
from bot.channels.robots import RobotClient, RobotHook
from bot.flood import SharedFlood
from bot.render import Reply
from bot.sender import send_in_turn

log = logging.getLogger(__name__)

# What a chat reads instead of a file it is not sent: a webhook robot posts text only, and files
# through the apps' long connections are not sent yet.
FILES_ON_DESK = "（附件：图表或台账文件请在督办助手网页版查看。）"


class AppChannel(Protocol):
    """A platform's app (bot/channels/dingtalk.py, wecom.py, feishu.py): its long connection
    started and stopped with the bot, and rendered bodies pushed to a person or a group."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def push(self, address: str, is_group: bool, bodies: list[dict[str, Any]]) -> None: ...


# Whom a group robot @s, asked when its message goes (bot/channels/runtime.py asks the database):
# the mobile numbers of the people of its binding on ``channel`` at ``address``.
Mentions = Callable[[Channel, str], Awaitable[list[str]]]


def rendered(channel: Channel, reply: Reply, *, two_way: bool, mentions: Sequence[str] = ()) -> list[dict[str, Any]]:
    """``reply`` as ``channel``'s message bodies, in the order they are sent; ``mentions`` (DingTalk
    and WeCom only) the mobile numbers a one-way robot @s."""
    if channel == "dingtalk":
        return dingtalk_messages(reply, two_way=two_way, title=first_line(reply), mentions=mentions)
    if channel == "wecom":
        return wecom_messages(reply, two_way=two_way, mentions=mentions)
    if channel == "feishu":
        return feishu_messages(reply, two_way=two_way)
    raise ValueError(f"no renderer for {channel}")


class DomesticTransport:
    """The outbox's way onto one domestic platform (bot/sender.Transport)."""

    def __init__(self, channel: Channel, *, robots: Mapping[str, RobotHook] | None = None,
                 robot_client: RobotClient | None = None, app: AppChannel | None = None,
                 mentions: Mentions | None = None) -> None:
        self.channel = channel
        self.robots = dict(robots or {})
        self.robot_client = robot_client
        self.app = app
        self.mentions = mentions

    async def _mentioned(self, address: str) -> list[str]:
        """Whom the robot at ``address`` @s, asked now rather than when the message was queued: a
        number given since counts, and someone unbound since is not @'d."""
        if self.mentions is None or self.channel not in MENTION_CHANNELS:
            return []
        try:
            return await self.mentions(self.channel, address)
        except Exception as error:  # the database did not answer: the message waits rather than go without its @s
            raise DeliveryError("retry_later", f"查询群机器人要 @ 的人失败（{type(error).__name__}）") from None

    @property
    def address_kinds(self) -> frozenset[AddressKind]:
        """Its robots always (one a file no longer names is marked unreachable); the app's people
        and groups only with an app to push through (WeCom's pushes need `taskbot run`'s connection)."""
        return EVERY_KIND if self.app is not None else ROBOTS_ONLY

    async def deliver(self, address: str, reply: Reply, flood: SharedFlood | None, *, reserved: int | None,
                      sent_marks: list[int]) -> None:
        sends: list[Callable[[], Awaitable[Any]]]
        if reply.files:
            reply = Reply([*reply.pages, FILES_ON_DESK], reply.buttons)
        if address.startswith(ROBOT):
            hook = self.robots.get(address.removeprefix(ROBOT))
            if hook is None or self.robot_client is None:
                # The office removed the robot from the configuration while messages waited for it.
                raise DeliveryError("unreachable", f"群机器人“{address.removeprefix(ROBOT)}”不在配置中")
            bodies = rendered(self.channel, reply, two_way=False, mentions=await self._mentioned(address))
            sends = [functools.partial(self.robot_client.post, hook, body) for body in bodies]
        elif address.startswith((PERSON, GROUP)):
            if self.app is None:
                raise DeliveryError("retry_later", f"{self.channel} 应用未连接")
            is_group = address.startswith(GROUP)
            target = address.split(":", 1)[1]
            # A DingTalk button is a link that makes the tapper's client send a text; in a group that
            # text does not @ the bot, and DingTalk passes a group bot only what @s it: no buttons there.
            bodies = rendered(self.channel, reply, two_way=not (is_group and self.channel == "dingtalk"))
            sends = [functools.partial(self.app.push, target, is_group, [body]) for body in bodies]
        else:
            raise DeliveryError("dead", f"无法识别的{self.channel}地址：{address}")
        await send_in_turn(address, sends, flood, reserved=reserved, sent_marks=sent_marks)
