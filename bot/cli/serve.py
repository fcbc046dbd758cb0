"""``taskbot run``, ``worker`` and ``sandbox``: the bot, the planner-and-sender alone, and the local sandbox.

The sandbox (bot/sandbox) is imported only when it runs: ``taskbot run`` with a token never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from bot.app import DeskPlan, Webhook, build_application, lost_consumer_lock, run_application, serve_channels
from bot.channels import CHANNEL_NAMES
from bot.channels.runtime import (
    DomesticChannels,
    DomesticPlan,
    bind_robots,
    domestic_plans,
    waiting_without_a_way,
)
from bot.channels.transport import DomesticTransport
from bot.cli.invocation import Invocation
from bot.consumer_lock import CHECK_SECONDS, ChannelLocks, ConsumerLock
from bot.context import BotContext
from bot.failures import safe_url
from bot.sender import TelegramTransport, Transport
from bot.telegram_http import make_bot
from bot.worker import run_planner_and_sender
from tasks.errors import ServiceError
from tasks.redaction import register_secret

if TYPE_CHECKING:
    from bot.sandbox.console import Platform

SANDBOX_DATABASE_URL = "sqlite:///taskbot-sandbox.db"
SANDBOX_FILES = "taskbot-sandbox-files"  # the pictures and files the sandbox's bot sent, to open
SANDBOX_START = "2021-09-01T09:00"
NO_WORKER_PLATFORM = ("worker 没有可发送的平台：要发送 Telegram 的提醒请设置 TASKBOT_TOKEN"
                      "（连接本地沙盒时填沙盒的令牌），要发送钉钉、企业微信或飞书的提醒请在配置文件中启用 "
                      "[channels.dingtalk]、[channels.wecom] 或 [channels.feishu]，设置其一后重试。")
LOCK_LOST = ("与数据库的连接断开，本进程失去了接收消息的锁；为免两个进程同时接收消息，"
             "已停止。请重新启动（另一个待命的进程可能已经接管）。")


def bot_context(cli: Invocation) -> BotContext:
    policy, calendar = cli.policy()
    return BotContext(cli.engine, cli.clock, cli.settings.timezone, cli.seed_directory.district,
                      policy=policy, calendar=calendar, in_flight=cli.settings.delivery.in_flight)


def worker(cli: Invocation) -> int:
    """The planner and a sender per configured platform, beside `taskbot run` (bot/worker.py).

    Telegram when a token is set; each domestic platform's group robots, and the people and groups
    of an app that pushes over HTTP (DingTalk, Feishu), without opening its long connection:
    people's messages stay with `taskbot run` and its consumer lock, and so does whatever only
    that connection can deliver (a WeCom app's messages), waiting in the outbox for it."""
    token = cli.settings.telegram.token
    plans = domestic_plans(cli.settings)
    if not token and not plans:
        raise ServiceError(NO_WORKER_PLATFORM)
    ctx = bot_context(cli)
    # Made before the event loop runs, as for `taskbot run` (Feishu's SDK must be imported first).
    channels = DomesticChannels(ctx, plans, listen=False) if plans else None
    cli.print(_worker_share(bool(token), plans, channels.transports if channels is not None else []))
    _say_waiting(cli, ctx, plans, telegram=bool(token))

    async def work() -> None:
        async with contextlib.AsyncExitStack() as running:
            transports: list[Transport] = []
            if token:
                bot = await running.enter_async_context(
                    make_bot(token, cli.args.base_url, ca_bundle=cli.settings.telegram.ca_bundle or None))
                # A file a person sent on DingTalk or Feishu is fetched from there (``ctx.file_sources``).
                transports.append(TelegramTransport(bot, ctx.file_sources))
            if channels is not None:
                running.push_async_callback(channels.stop)
                transports += await channels.start()
            await run_planner_and_sender(ctx, transports, until_idle=cli.args.until_idle)

    asyncio.run(work())
    return 0


def _say_waiting(cli: Invocation, ctx: BotContext, plans: list[DomesticPlan], *, telegram: bool) -> None:
    for sentence in waiting_without_a_way(ctx, plans, telegram=telegram):
        cli.print(sentence)


def _worker_share(telegram: bool, plans: list[DomesticPlan], transports: list[DomesticTransport]) -> str:
    """One line: what a worker delivers (as its transports' address kinds say), and what it leaves to `taskbot run`."""
    sends = ["Telegram"] if telegram else []
    waits = []
    by_channel = {transport.channel: transport for transport in transports}
    for plan in plans:
        transport, name = by_channel[plan.channel], CHANNEL_NAMES[plan.channel]
        doors = (["群机器人"] if plan.hooks else []) + (["应用消息"] if "person" in transport.address_kinds else [])
        if doors:
            sends.append(f"{name}（{'、'.join(doors)}）")
        if plan.settings.two_way and "person" not in transport.address_kinds:
            waits.append(f"{name}的应用消息（只能经 taskbot run 的长连接发送）")
    left = "、".join([*waits, "接收各平台的消息"])
    return f"本进程发送提醒：{'、'.join(sends) or '无'}；留给 taskbot run：{left}。"


def run(cli: Invocation) -> int:
    token = cli.settings.telegram.token
    channel = _channel(cli)
    if token and channel != "telegram":
        raise ServiceError("--channel 只选择本地沙盒的平台：设置了 TASKBOT_TOKEN 时机器人连接 Telegram"
                           "（钉钉、企业微信、飞书在配置文件中配置），请去掉 --channel 或不设令牌。")
    webhook = _webhook(cli)
    plans = domestic_plans(cli.settings)
    if not token and plans:
        return _serve_domestic(cli, plans)
    if not token:
        cli.print("没有设置 TASKBOT_TOKEN（或配置文件 [telegram] token），启动本地沙盒，不连接 Telegram。")
        if webhook is not None and channel != "telegram":
            cli.print("webhook 是 Telegram 的接收方式，这个平台的沙盒不用它。")
            webhook = None
        if webhook is not None:
            # The sandbox server can reach only this machine: it pushes to our listener directly.
            webhook = replace(webhook, url=f"http://127.0.0.1:{webhook.port}/{webhook.path or 'webhook'}")
            cli.print(f"webhook 模式：沙盒服务器把消息推送到 {webhook.url}")
        return sandbox(cli, webhook)
    ctx = bot_context(cli)
    _say_waiting(cli, ctx, plans, telegram=True)
    lock = ChannelLocks(cli.settings.database_url, ["telegram", *(plan.channel for plan in plans)])
    try:
        _take_consumer_lock(cli, lock)
        desk = _desk(cli)
        application = build_application(ctx, token, base_url=cli.args.base_url, lock=lock,
                                        ca_bundle=cli.settings.telegram.ca_bundle or None, desk=desk,
                                        channels=_domestic_channels(cli, ctx, plans))
        run_application(application, webhook)
    finally:
        lock.release()
    if lost_consumer_lock(application):
        raise ServiceError(LOCK_LOST)
    return 0


def _domestic_channels(cli: Invocation, ctx: BotContext, plans: list[DomesticPlan]) -> DomesticChannels | None:
    """The configured domestic platforms, their robots bound to their groups as the file says."""
    if not plans:
        return None
    for change in bind_robots(ctx, plans):
        cli.print(f"群机器人：{change}")
    names = "、".join(CHANNEL_NAMES[plan.channel] for plan in plans)
    cli.print(f"同时服务：{names}")
    return DomesticChannels(ctx, plans)


def _serve_domestic(cli: Invocation, plans: list[DomesticPlan]) -> int:
    """No Telegram: the configured domestic platforms alone, with the desk, until stopped (Ctrl-C, SIGTERM)."""
    ctx = bot_context(cli)
    _say_waiting(cli, ctx, plans, telegram=False)
    lock = ChannelLocks(cli.settings.database_url, [plan.channel for plan in plans])
    try:
        _take_consumer_lock(cli, lock)
        channels = _domestic_channels(cli, ctx, plans)
        assert channels is not None
        desk = _desk(cli)

        async def serve() -> bool:
            stopped = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signal_number, stopped.set)
            return await serve_channels(ctx, channels, desk=desk, lock=lock, stopped=stopped)

        kept_lock = asyncio.run(serve())
    finally:
        lock.release()
    if not kept_lock:
        raise ServiceError(LOCK_LOST)
    return 0


def _channel(cli: Invocation) -> str:
    """The platform the sandbox plays (``--channel``); Telegram unless told."""
    return getattr(cli.args, "channel", None) or "telegram"


def _desk(cli: Invocation) -> DeskPlan | None:
    """The web desk to serve beside the bot, as configured and as the command line narrows it."""
    web = cli.settings.web
    if not web.enabled or getattr(cli.args, "no_web", False):
        return None
    port = getattr(cli.args, "web_port", None)
    return DeskPlan(web if port is None else web.model_copy(update={"port": port}),
                    announce=lambda url: cli.print(f"网页版：{url}（在聊天中发送 /web 获取登录链接）"))


def _take_consumer_lock(cli: Invocation, lock: ConsumerLock) -> None:
    """Only one process consumes the bot's updates (bot/consumer_lock.py); --standby waits its turn."""
    standby = cli.args.standby
    announced = False
    while not _try_lock(lock, standby=standby):
        if not standby:
            raise ServiceError(f"已有一个 taskbot run 在接收这个机器人的消息（{lock.holder()}）。"
                               "同一数据库只能有一个进程接收消息：要多进程发送提醒请用 taskbot worker，"
                               "要热备请加 --standby。")
        if not announced:
            cli.print(f"已有进程在接收消息（{lock.holder()}）；本进程待命，等它停止后接管。")
            announced = True
        time.sleep(CHECK_SECONDS)
    if announced:
        cli.print("已接管：本进程开始接收消息。")


def _try_lock(lock: ConsumerLock, *, standby: bool) -> bool:
    try:
        return lock.acquire()
    except psycopg.OperationalError:
        if standby:  # a standby outlives a database restart: it tries again
            return False
        raise  # said in one sentence by bot.failures, which knows a missing database from a stopped server


def _webhook(cli: Invocation) -> Webhook | None:
    telegram = cli.settings.telegram
    url = cli.args.webhook or telegram.webhook_url
    if not url:
        return None
    secret = telegram.webhook_secret  # its shape checked with the settings
    listen = cli.args.listen or telegram.listen
    port = cli.args.port or telegram.port
    webhook = Webhook(url, listen, port, secret) if secret else Webhook(url, listen, port)
    register_secret(webhook.secret)  # a fresh one too: whoever reads the log could post updates with it
    return webhook


def sandbox(cli: Invocation, webhook: Webhook | None = None) -> int:
    from bot.sandbox.console import run_console
    from seed import MENTOUGOU_2021, seed_path
    from tasks.clock import ShiftedClock, parse_moment
    from tasks.db import make_engine
    from tasks.plan.importer import import_file, prepare_database

    settings = cli.settings
    url = settings.database_url if settings.database_configured else SANDBOX_DATABASE_URL
    engine = make_engine(url)
    # The bundled plan is for 2021: the sandbox starts on 1 September 2021 unless --now says otherwise.
    # Either way its clock runs at real speed from there (and the console's :wait and :at move it):
    # a clock stopped at --now would never reach the next reminder. A date alone means its
    # sending hour, so that `--now 2021-11-04` shows that day's reminders rather than quiet hours.
    start = cli.args.now or SANDBOX_START
    if len(start) == len("2021-11-04"):
        start += "T09:00"
    clock = ShiftedClock(parse_moment(start, settings.timezone), cli.wall)
    prepare_database(engine, cli.seed_directory, clock, cli.actor)
    _parsed, summary = import_file(engine, seed_path(MENTOUGOU_2021), clock, cli.actor,
                                   district=cli.seed_directory.district)
    cli.print(f"数据库：{safe_url(url)}；内置文档已{'导入' if summary.changed else '就绪'}；"
              f"沙盒时间：{clock.now().astimezone(settings.timezone):%Y-%m-%d %H:%M}")
    policy, calendar = cli.policy()
    # Not paced: the local server is the only one listening and sets no flood limits, so keeping
    # to Telegram's second per chat would only make someone trying the bot wait for each page.
    ctx = BotContext(engine, clock, settings.timezone, cli.seed_directory.district, outbox_interval=0.1,
                     policy=policy, calendar=calendar, in_flight=settings.delivery.in_flight, paced=False)
    platform = _sandbox_platform(cli, ctx, webhook)  # run_console starts it once the personas are bound
    try:
        # The bundled sandbox keeps what the bot sends beside its database; another database's, in a scratch folder.
        files = (Path(SANDBOX_FILES) if url == SANDBOX_DATABASE_URL
                 else Path(tempfile.gettempdir()) / SANDBOX_FILES)
        run_console(platform, cli.stdin, cli.out, interactive=cli.stdin.isatty(), files=files)
    finally:
        platform.stop()
        engine.dispose()
    return 0


def _sandbox_platform(cli: Invocation, ctx: BotContext, webhook: Webhook | None) -> Platform:
    """Telegram's local Bot API server (with the web desk beside it), or a domestic platform's double."""
    from bot.sandbox.console import DomesticPlatform, TelegramPlatform

    channel = _channel(cli)
    if channel != "telegram":
        from bot.sandbox.domestic import DomesticSandbox

        # The web desk's sandbox page plays the personas on the local Bot API server: Telegram's alone.
        return DomesticPlatform(DomesticSandbox(ctx, channel))  # type: ignore[arg-type]  # checked by argparse
    from bot.sandbox.runtime import SandboxRuntime

    runtime = SandboxRuntime(ctx, webhook=webhook)
    desk = _desk(cli)
    if desk is not None:
        from bot.sandbox.console import PERSONAS
        from bot.web.desk import SandboxDesk

        # Several sandboxes on one machine (and the tests running them) must not fail on a taken port.
        runtime.desk = replace(desk, sandbox=SandboxDesk(runtime.server, list(PERSONAS)), any_free_port=True,
                               announce=None)  # the console says the address with its own lines
    return TelegramPlatform(runtime)
