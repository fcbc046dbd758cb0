"""The domestic platforms a ``taskbot run`` serves, as configured: for each, its group robots bound
to their groups, its app's long connection answering people, and the transport the outbox
sender delivers through.

Credentials come from the environment only: the file names the variables of each robot's webhook
and secret, and each app's id and secret are read from ``CHANNEL_ENV`` (bot/config.py). A missing
variable is said in one sentence naming it, never its value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.channels import CHANNEL_NAMES, GROUP, PERSON, Channel, Incoming
from bot.channels.conversation import ChannelConversation
from bot.channels.directory import Directory
from bot.channels.robots import RobotClient, RobotHook
from bot.channels.transport import AppChannel, DomesticTransport, Mentions
from bot.config import CHANNEL_ENV, ConfigError, DomesticSettings, Settings
from bot.context import BotContext, FileSource
from tasks import inbox, outbox
from tasks.events import Actor
from tasks.models import Role
from tasks.redaction import register_secret
from tasks.work.members import RobotBinding, keep_robots, mentioned_mobiles

log = logging.getLogger(__name__)

CONFIGURED = Actor("配置文件", "cli")


@dataclass(frozen=True)
class DomesticPlan:
    """What the settings ask of one platform, credentials read."""

    channel: Channel
    settings: DomesticSettings
    hooks: dict[str, RobotHook] = field(default_factory=dict)
    bindings: list[RobotBinding] = field(default_factory=list)
    # Where the platform's servers are: the real ones, or a local double (the sandbox, the tests).
    api_base: str = ""


def domestic_plans(settings: Settings, environ: Mapping[str, str] = os.environ) -> list[DomesticPlan]:
    """Every enabled platform's plan; a robot whose variables are not set is refused by name."""
    plans = []
    for channel, table in settings.channels.configured().items():
        hooks, bindings = {}, []
        for robot in table.robots:
            url = environ.get(robot.webhook_env, "")
            if not url:
                raise ConfigError(f"[channels.{channel}] 的群机器人“{robot.name}”需要环境变量 {robot.webhook_env}"
                                  "（它的 webhook 地址）：请设置后重试。")
            secret = environ.get(robot.secret_env, "") if robot.secret_env else ""
            if robot.secret_env and not secret:
                raise ConfigError(f"[channels.{channel}] 的群机器人“{robot.name}”需要环境变量 {robot.secret_env}"
                                  "（它的加签密钥）：请设置后重试。")
            register_secret(url)
            if secret:
                register_secret(secret)
            hooks[robot.name] = RobotHook(channel, robot.name, url, secret)  # type: ignore[arg-type]
            bindings.append(RobotBinding(channel, robot.name, Role(robot.role), robot.unit))
        plans.append(DomesticPlan(channel, table, hooks, bindings, api_base=table.api_base))  # type: ignore[arg-type]
    return plans


def waiting_without_a_way(ctx: BotContext, plans: list[DomesticPlan], *, telegram: bool) -> list[str]:
    """One sentence per platform whose notifications wait in the outbox while this configuration
    gives no process a way to send them: a platform not enabled, an app's people and groups on a
    platform configured with robots only, Telegram without a token. They are kept, not failed (the
    configuration may be put back), and said at start so that the administrator is not left
    thinking they went."""
    counts = ctx.in_transaction(lambda session: outbox.pending_by_channel(session, (PERSON, GROUP)))
    configured = {plan.channel: plan for plan in plans}
    waiting: dict[str, int] = {}
    said = []
    for (channel, prefix), count in sorted(counts.items()):
        if channel == "telegram":
            if not telegram:
                waiting["telegram"] = waiting.get("telegram", 0) + count
            continue
        plan = configured.get(channel)
        if plan is None or (prefix and not plan.settings.two_way):
            waiting[channel] = waiting.get(channel, 0) + count
    for channel, count in waiting.items():
        name = CHANNEL_NAMES.get(channel, channel)
        if channel == "telegram":
            said.append(f"{count} 条 Telegram 通知在等待发送：设置 TASKBOT_TOKEN 后由 taskbot run 或 worker 发出。")
        elif channel not in configured:
            said.append(f"{count} 条{name}通知在等待发送：配置文件启用 [channels.{channel}] 后发出。")
        else:
            app_id, secret = CHANNEL_ENV[channel]
            said.append(f"{count} 条{name}应用消息（发给个人或应用所在的群）在等待发送："
                        f"[channels.{channel}] 只配置了群机器人，设置 {app_id} 和 {secret} 后发出。")
    return said


def bind_robots(ctx: BotContext, plans: list[DomesticPlan]) -> list[str]:
    """Each platform's robots bound to their groups as configured (tasks.work.members.keep_robots)."""
    changed: list[str] = []
    for plan in plans:
        changed += ctx.in_transaction(lambda session, plan=plan: keep_robots(
            session, ctx.clock, CONFIGURED, plan.channel, plan.bindings, ctx.district))
    return changed


def robot_mentions(ctx: BotContext) -> Mentions:
    """The transports' way of asking whom a group robot @s (tasks.work.members.mentioned_mobiles)."""

    async def mentions(channel: Channel, address: str) -> list[str]:
        return await ctx.run(lambda session: mentioned_mobiles(session, channel, address))

    return mentions


class DomesticChannels:
    """The platforms a process serves: made before its event loop runs, started and stopped with
    the bot on that loop.

    Each platform's SDK is loaded here, only when that platform is configured: they take seconds
    to import, and Feishu's must be imported before an event loop runs (bot/channels/feishu.py)."""

    def __init__(self, ctx: BotContext, plans: list[DomesticPlan], *, listen: bool = True) -> None:
        """``listen``: open each app's long connection and answer people (`taskbot run`); without it
        (`taskbot worker`) an app that pushes over HTTP is only pushed through, and another is not used."""
        self.ctx = ctx
        self.plans = plans
        self.robot_client = RobotClient() if any(plan.hooks for plan in plans) else None
        self.transports: list[DomesticTransport] = []
        self.apps: dict[str, Any] = {}
        self.conversations: dict[str, ChannelConversation] = {}
        for plan in plans:
            transport = DomesticTransport(plan.channel, robots=plan.hooks, robot_client=self.robot_client,
                                          mentions=robot_mentions(ctx))
            if plan.settings.two_way and listen:
                conversation = self.conversations[plan.channel] = ChannelConversation(ctx, transport)
                self.apps[plan.channel] = transport.app = _app(plan, conversation)
            elif plan.settings.two_way and plan.channel in PUSH_OVER_HTTP:
                self.apps[plan.channel] = transport.app = _app(plan, _not_listening)
            self.transports.append(transport)

    async def start(self) -> list[DomesticTransport]:
        """Connect every configured app; the transports to deliver through."""
        if self.conversations:
            await self.ctx.run(lambda session: inbox.forget_handled(session, self.ctx.clock))
        # What an earlier process left, read before any app connects: a message that comes once it
        # has is stored pending as well, while its handler acts on it, and must not be taken twice.
        left_over = {channel: await conversation.left_over() for channel, conversation in self.conversations.items()}
        for channel, app in self.apps.items():
            listening = channel in self.conversations
            if listening and isinstance(app, Directory):  # DingTalk and Feishu; WeCom's intelligent robot has none
                self.ctx.directories[channel] = app
            if listening:  # an app only pushed through needs no start: its HTTP session opens on first use
                await app.start()
            self.ctx.file_sources[channel] = _file_source(app)
            if listening:
                await self.conversations[channel].take_up_stored(left_over[channel])
        return self.transports

    async def stop(self) -> None:
        for channel in self.apps:
            self.ctx.directories.pop(channel, None)
        for app in self.apps.values():
            try:
                await app.stop()
            except Exception:  # the others still stop
                log.warning("stopping a chat platform failed", exc_info=True)
        if self.robot_client is not None:
            await self.robot_client.close()


# The apps that send over plain HTTP (DingTalk's robot OpenAPI, Feishu's IM API) and fetch a file a
# person sent the same way: a process without their long connection can still push and fetch.
# WeCom's app sends as frames on its long connection, which only the `taskbot run` serving it holds.
PUSH_OVER_HTTP: frozenset[Channel] = frozenset({"dingtalk", "feishu"})


async def _not_listening(incoming: Incoming) -> None:
    """An app pushed through without its long connection hears nothing; were it handed a message,
    that message is `taskbot run`'s to answer."""
    raise RuntimeError(f"{incoming.channel} 的消息由 taskbot run 接收")


def _file_source(app: Any) -> FileSource:
    """The app's way of fetching a file a person sent, as bytes (each SDK's own says it differently)."""

    async def fetch(ref: str) -> bytes:
        if hasattr(app, "fetch_file"):  # WeCom: downloaded and decrypted, with its name
            return (await app.fetch_file(ref))[0]
        fetched = await app.download(ref)
        return fetched[0] if isinstance(fetched, tuple) else fetched

    return fetch


def _app(plan: DomesticPlan, on_incoming: Callable[[Incoming], Awaitable[None]]) -> AppChannel:
    table = plan.settings
    if plan.channel == "dingtalk":
        from bot.channels.dingtalk import DINGTALK_API, DingTalkChannel

        return DingTalkChannel(table.app_id, table.app_secret, on_incoming, api_base=plan.api_base or DINGTALK_API)
    if plan.channel == "wecom":
        from bot.channels.wecom import WeComChannel

        return WeComChannel(table.app_id, table.app_secret, on_incoming, ws_url=plan.api_base)
    from bot.channels.feishu import FEISHU_DOMAIN, FeishuChannel

    return FeishuChannel(table.app_id, table.app_secret, on_incoming, domain=plan.api_base or FEISHU_DOMAIN)
