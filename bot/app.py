"""Building the python-telegram-bot Application in one place."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import BotCommand
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import consumer_lock
from bot.config import WebSettings
from bot.context import CONTEXT_KEY, BotContext
from bot.handlers import (
    all_command_handlers,
    on_button,
    on_edited,
    on_error,
    on_file,
    on_help,
    on_start,
    on_text,
    on_unknown_command,
)
from bot.intake import InboxUpdater, note_failure
from bot.sender import TelegramTransport, Transport, stop
from bot.telegram_http import AiohttpRequest, file_url_for
from bot.worker import run_planner_and_sender

if TYPE_CHECKING:
    from bot.channels.runtime import DomesticChannels

PLANNER_AND_SENDER_KEY = "taskbot.planner_and_sender"
CONSUMER_LOCK_KEY = "taskbot.consumer_lock"
LOCK_WATCH_KEY = "taskbot.consumer_lock_watch"
LOCK_LOST_KEY = "taskbot.consumer_lock_lost"
DESK_KEY = "taskbot.desk"  # the web desk to serve beside the bot (bot/web), then its runner
DESK_RUNNER_KEY = "taskbot.desk_runner"
CHANNELS_KEY = "taskbot.channels"  # the domestic platforms served beside Telegram (bot/channels/runtime.py)


@dataclass(frozen=True)
class DeskPlan:
    """The web desk to serve beside the bot: its settings, and the sandbox's server and personas when
    the desk runs beside the local sandbox (its 沙盒 page)."""

    settings: WebSettings
    sandbox: Any = None  # bot.web.desk.SandboxDesk
    any_free_port: bool = False  # when the configured port is taken, serve on another and say which
    announce: Callable[[str], None] | None = None  # told the desk's address once it is serving


@dataclass(frozen=True)
class Webhook:
    """Updates pushed by Telegram to ``url``, which reaches our listener at ``listen``:``port``.

    Telegram sends ``secret`` with every update and our listener refuses any request without
    it (403), so nobody who merely finds the URL can post updates. A fresh secret each start
    is the default: setWebhook tells Telegram the new one.
    """

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.strip("/")


def run_application(application: Application, webhook: Webhook | None, **options: Any) -> None:
    """Consume updates until stopped: long polling, or a webhook listener when ``webhook`` is given."""
    if webhook is None:
        application.run_polling(**options)
        return
    application.run_webhook(listen=webhook.listen, port=webhook.port, url_path=webhook.path,
                            webhook_url=webhook.url, secret_token=webhook.secret, **options)


def build_application(ctx: BotContext, token: str, *, base_url: str | None = None,
                      base_file_url: str | None = None,
                      lock: consumer_lock.ConsumerLock | None = None, ca_bundle: str | None = None,
                      desk: DeskPlan | None = None, channels: DomesticChannels | None = None) -> Application:
    """The bot, and the web desk beside it on the same event loop when ``desk`` is given, and the
    domestic platforms (``channels``: their apps answer people, their senders deliver) beside it.
    ``lock`` is the consumer lock its process holds (bot/consumer_lock.py): the bot
    stops consuming updates if it is lost, and ``lost_consumer_lock`` then says so. ``ca_bundle``:
    certificates trusted beside the public roots (a TLS-inspecting gateway's)."""
    builder = (Application.builder().token(token).post_init(_post_init).post_stop(_post_stop)
               .post_shutdown(_post_shutdown)
               .request(AiohttpRequest(ca_bundle=ca_bundle))
               .get_updates_request(AiohttpRequest(1, ca_bundle=ca_bundle)).updater(None))
    if base_url:
        builder = builder.base_url(base_url).base_file_url(base_file_url or file_url_for(base_url))
    application = builder.build()
    # Updates are stored before they are acknowledged and handled from the store (bot/intake.py).
    application.updater = InboxUpdater(application, ctx)
    application.bot_data[CONTEXT_KEY] = ctx
    application.bot_data[CONSUMER_LOCK_KEY] = lock
    application.bot_data[DESK_KEY] = desk
    application.bot_data[CHANNELS_KEY] = channels
    # An edit of an earlier message comes first: it is answered, and no other handler runs it again.
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, on_edited))
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("help", on_help))
    for name, handler in all_command_handlers().items():
        application.add_handler(CommandHandler(name, handler))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, on_file))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(filters.COMMAND, on_unknown_command))
    application.add_error_handler(note_failure)  # first: the failure is kept on the update's inbox row
    application.add_error_handler(on_error)
    return application


async def _post_init(application: Application) -> None:
    ctx: BotContext = application.bot_data[CONTEXT_KEY]
    ctx.loop = asyncio.get_running_loop()
    me = await application.bot.get_me()
    ctx.bot_username = me.username or ""
    await application.bot.set_my_commands([BotCommand("start", "开始 / 用邀请码绑定身份"), BotCommand("help", "帮助")])
    plan: DeskPlan | None = application.bot_data[DESK_KEY]
    if plan is not None:
        from bot.web.desk import Desk, start_desk  # only a process that serves the desk loads its pages

        application.bot_data[DESK_RUNNER_KEY] = await start_desk(
            Desk(ctx, plan.settings, bot=application.bot, sandbox=plan.sandbox), any_free_port=plan.any_free_port)
        if plan.announce is not None:
            plan.announce(ctx.desk_url)
    channels: DomesticChannels | None = application.bot_data[CHANNELS_KEY]
    transports: list[Transport] = [TelegramTransport(application.bot, ctx.file_sources)]
    if channels is not None:
        transports += await channels.start()
    application.bot_data[PLANNER_AND_SENDER_KEY] = asyncio.get_running_loop().create_task(
        run_planner_and_sender(ctx, transports))
    lock = application.bot_data[CONSUMER_LOCK_KEY]
    if lock is not None:
        def lost() -> None:
            application.bot_data[LOCK_LOST_KEY] = True
            application.stop_running()

        application.bot_data[LOCK_WATCH_KEY] = asyncio.get_running_loop().create_task(consumer_lock.watch(lock, lost))


async def _post_shutdown(application: Application) -> None:
    # A bot whose first call failed (no route to Telegram, a rejected token) is not "initialized",
    # so PTB's shutdown skips it and its two HTTP sessions were left open, each reported as
    # "Unclosed client session" after the one sentence the command prints. Closing a closed bot
    # does nothing.
    await application.bot.shutdown()


def lost_consumer_lock(application: Application) -> bool:
    """Whether the bot stopped because its process no longer held the consumer lock."""
    return application.bot_data.get(LOCK_LOST_KEY, False)


async def _post_stop(application: Application) -> None:
    watch = application.bot_data.pop(LOCK_WATCH_KEY, None)
    if watch is not None:
        watch.cancel()
    await stop(application.bot_data.pop(PLANNER_AND_SENDER_KEY, None))
    channels: DomesticChannels | None = application.bot_data.get(CHANNELS_KEY)
    if channels is not None:
        await channels.stop()
    runner = application.bot_data.pop(DESK_RUNNER_KEY, None)
    if runner is not None:
        from bot.web.desk import stop_desk

        await stop_desk(runner)


async def serve_channels(ctx: BotContext, channels: DomesticChannels, *, desk: DeskPlan | None = None,
                         lock: consumer_lock.ConsumerLock | None = None,
                         stopped: asyncio.Event | None = None) -> bool:
    """The bot on the domestic platforms alone (no Telegram token): their apps answer people, a
    sender per platform delivers, the desk serves beside them; until ``stopped`` is set. Returns
    False when it stopped because the process lost the consumer lock."""
    ctx.loop = asyncio.get_running_loop()
    stopped = stopped or asyncio.Event()
    lost = False

    def lock_lost() -> None:
        nonlocal lost
        lost = True
        stopped.set()

    runner = None
    if desk is not None:
        from bot.web.desk import Desk, start_desk, stop_desk

        runner = await start_desk(Desk(ctx, desk.settings, sandbox=desk.sandbox), any_free_port=desk.any_free_port)
        if desk.announce is not None:
            desk.announce(ctx.desk_url)
    watch = asyncio.get_running_loop().create_task(consumer_lock.watch(lock, lock_lost)) if lock else None
    sending = None
    try:
        transports = await channels.start()
        sending = asyncio.get_running_loop().create_task(run_planner_and_sender(ctx, transports))
        await stopped.wait()
    finally:
        if watch is not None:
            watch.cancel()
        await stop(sending)
        await channels.stop()
        if runner is not None:
            await stop_desk(runner)
    return not lost
