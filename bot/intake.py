"""Taking updates in: stored in the inbox (tasks/inbox.py) before Telegram is told, then handled from it.

This replaces PTB's Updater, whose polling puts updates in a queue in memory and confirms them
with the next getUpdates, and whose webhook answers 200 once the update is in that queue: a
process killed in between loses every update it held. Here:

- Polling: getUpdates' raw JSON is stored in one transaction, and only after that commit does
  the offset move past it (the next getUpdates is what tells Telegram). After a restart the
  first getUpdates confirms nothing, so Telegram sends again whatever it still holds, and the
  store drops what it has.
- Webhook: the listener checks the secret header before it reads a byte of the body, refuses
  a body over WEBHOOK_BODY_LIMIT, and answers 200 only after the store commit; Telegram keeps
  an update and posts it again until it gets a 2xx.
- One task handles the stored updates in arrival order through the Application's handlers,
  and at start resumes those a previous process left unhandled. An update PTB cannot read is
  marked failed, with a log line, and skipped.

The consumer lock (bot/consumer_lock.py) makes this process the only one taking updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import warnings
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Row
from telegram import Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, Updater
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.sandbox.webhook import SECRET_HEADER
from tasks import inbox

log = logging.getLogger(__name__)

# A Telegram update is a few kilobytes (a message is at most 4096 characters, a caption 1024);
# a bigger body is not Telegram's, and is refused before it is read.
WEBHOOK_BODY_LIMIT = 2 * 1024 * 1024
BATCH = 100  # stored updates read at once, and getUpdates' own limit
RETRY_SECONDS = 1.0  # after a failed getUpdates or a database failure
STOP_SECONDS = 30.0  # how long stopping waits for the update in hand
FORGET_EVERY = 3600.0  # seconds between clearings of old handled updates (tasks/inbox.py KEEP_HANDLED)

# getUpdates goes through Bot.do_api_request so that the updates arrive as JSON, to be stored
# as they are, rather than as PTB objects built by Bot.get_updates (which fails the whole batch
# when one update cannot be read); do_api_request warns when used for a method PTB has.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.get_updates'", category=PTBUserWarning)


class InboxUpdater(Updater):
    """PTB's Updater, with every update stored before it is acknowledged and handled from the store.

    ``Application.run_polling`` and ``run_webhook`` start it and stop it as they do PTB's own.
    """

    def __init__(self, application: Application, ctx: BotContext) -> None:
        super().__init__(application.bot, application.update_queue)
        self.application = application
        self.ctx = ctx
        self._arrived = asyncio.Event()  # an update was stored: the handling task looks again
        self._fetching: asyncio.Task[None] | None = None
        self._handling: asyncio.Task[None] | None = None
        self._listener: web.AppRunner | None = None
        self._secret: str | None = None

    # --- started and stopped by the Application -------------------------------------------

    async def start_polling(self, poll_interval: float = 0.0, timeout: float | timedelta = 10,
                            bootstrap_retries: int = 0, allowed_updates: list[str] | None = None,
                            drop_pending_updates: bool | None = None, **_options: Any) -> asyncio.Queue[object]:
        await self._bootstrap(bootstrap_retries, webhook_url="", allowed_updates=None,
                              drop_pending_updates=drop_pending_updates)
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout or 0)
        self._begin()
        self._fetching = asyncio.get_running_loop().create_task(
            self._poll(seconds, poll_interval, allowed_updates), name="taskbot:intake:poll")
        return self.update_queue

    async def start_webhook(self, listen: str = "127.0.0.1", port: int = 80, url_path: str = "",
                            cert: Any = None, key: Any = None, bootstrap_retries: int = 0,
                            drop_pending_updates: bool | None = None, webhook_url: str | None = None,
                            allowed_updates: list[str] | None = None, ip_address: str | None = None,
                            max_connections: int = 40, secret_token: str | None = None, unix: Any = None,
                            **_options: Any) -> asyncio.Queue[object]:
        if cert is not None or key is not None or unix is not None:
            raise ValueError("the webhook listener serves plain HTTP on a TCP port, behind the TLS proxy")
        self._secret = secret_token
        path = "/" + url_path.strip("/")
        app = web.Application(client_max_size=WEBHOOK_BODY_LIMIT)
        app.router.add_post(path, self._receive)
        self._listener = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._listener.setup()
        await web.TCPSite(self._listener, listen, port).start()
        # Listening before Telegram is told the URL, so that its first post finds us.
        await self._bootstrap(bootstrap_retries, webhook_url=webhook_url or f"http://{listen}:{port}{path}",
                              allowed_updates=allowed_updates, drop_pending_updates=drop_pending_updates,
                              ip_address=ip_address, max_connections=max_connections, secret_token=secret_token)
        self._begin()
        return self.update_queue

    async def stop(self) -> None:
        """Stop taking updates, and let the update in hand finish (what is left waits in the store)."""
        if not self._running:
            raise RuntimeError("This Updater is not running!")
        self._running = False
        self._arrived.set()
        if self._listener is not None:
            await self._listener.cleanup()
            self._listener = None
        if self._fetching is not None:
            self._fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetching
            self._fetching = None
        if self._handling is not None:
            try:
                await asyncio.wait_for(self._handling, STOP_SECONDS)
            except TimeoutError:
                log.error("the update in hand did not finish within %.0f s; it will be handled again at the next "
                          "start", STOP_SECONDS)
            self._handling = None

    def _begin(self) -> None:
        self._running = True
        self._handling = asyncio.get_running_loop().create_task(self._handle_stored(), name="taskbot:intake:handle")

    # --- taking updates in -------------------------------------------------------------------

    async def _poll(self, timeout: float, interval: float, allowed_updates: list[str] | None) -> None:
        # Nothing is confirmed by the first call: Telegram sends again what it holds (maybe
        # stored already by a process that died before its next call), and the store drops those.
        offset = 0
        parameters: dict[str, Any] = {"timeout": timeout, "limit": BATCH}
        if allowed_updates is not None:
            parameters["allowed_updates"] = allowed_updates
        while self._running:
            try:
                batch = await self.bot.do_api_request("get_updates", {**parameters, "offset": offset},
                                                      read_timeout=timeout + 10)
                updates = self._readable_batch(batch)
                if updates:
                    await self.ctx.run(lambda session, updates=updates: inbox.store(session, self.ctx.clock, updates))
                    # Stored: the next call may confirm them.
                    offset = max(update["update_id"] for update in updates) + 1
                    self._arrived.set()
            except RetryAfter as error:
                wait = error.retry_after
                await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
                continue
            except TelegramError as error:  # no route, a timeout, a 5xx, a 409 from a webhook still set
                log.warning("getUpdates failed (%s: %s); trying again", type(error).__name__, error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:  # the database is away: nothing was confirmed, the same updates come again
                log.exception("could not store the updates; they are fetched again")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if interval:
                await asyncio.sleep(interval)

    @staticmethod
    def _readable_batch(batch: Any) -> list[dict[str, Any]]:
        """getUpdates' answer as a list of updates that carry an update_id (anything else is logged)."""
        if not isinstance(batch, list):
            log.error("getUpdates answered %s, not a list of updates; ignored", type(batch).__name__)
            return []
        updates = [u for u in batch if isinstance(u, dict) and type(u.get("update_id")) is int]
        if len(updates) != len(batch):
            log.error("getUpdates sent %d entries without an update_id; they cannot be stored and are ignored",
                      len(batch) - len(updates))
        return updates

    async def _receive(self, request: web.Request) -> web.Response:
        """One webhook post: stored, then 200; refused (the body unread) without the secret or when too big."""
        if self._secret is not None and not hmac.compare_digest(
                request.headers.get(SECRET_HEADER, "").encode(), self._secret.encode()):
            log.warning("refused a webhook request without the secret token from %s", request.remote)
            return _refusal(403)
        if request.content_length is not None and request.content_length > WEBHOOK_BODY_LIMIT:
            log.warning("refused a webhook body of %d bytes", request.content_length)
            return _refusal(413)
        try:
            update = json.loads(await request.read())  # a body without a length stops at the limit too
        except web.HTTPRequestEntityTooLarge:
            log.warning("refused a webhook body over %d bytes", WEBHOOK_BODY_LIMIT)
            return _refusal(413)
        except ValueError:
            log.error("a webhook post with the secret is not JSON; refused")
            return _refusal(400)
        if not isinstance(update, dict) or type(update.get("update_id")) is not int:
            log.error("a webhook post with the secret has no update_id; refused")
            return _refusal(400)
        try:
            await self.ctx.run(lambda session: inbox.store(session, self.ctx.clock, [update]))
        except Exception:  # not stored: Telegram posts it again later
            log.exception("could not store update %s; Telegram will post it again", update["update_id"])
            return web.Response(status=500)
        self._arrived.set()
        return web.Response()

    # --- handling what is stored -------------------------------------------------------------

    async def _handle_stored(self) -> None:
        forget_at = 0.0  # the event loop's time (monotonic) of the next clearing of old updates
        while self._running:
            self._arrived.clear()  # before looking, so that an update stored meanwhile is not missed
            try:
                rows = await self.ctx.run(lambda session: inbox.pending(session, BATCH))
            except Exception:
                log.exception("could not read the inbox; trying again")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if not rows:
                if asyncio.get_running_loop().time() >= forget_at:  # while idle, at start and hourly
                    forget_at = asyncio.get_running_loop().time() + FORGET_EVERY
                    await self._forget_handled()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), RETRY_SECONDS)
                continue
            for row in rows:
                if not self._running:
                    return
                try:
                    await self.handle(row)
                except Exception:  # the database failed around the handlers: the update stays pending
                    log.exception("update %s: the inbox could not be updated; it is handled again", row.update_id)
                    await asyncio.sleep(RETRY_SECONDS)
                    break

    async def _forget_handled(self) -> None:
        try:
            forgotten = await self.ctx.run(lambda session: inbox.forget_handled(session, self.ctx.clock))
        except Exception:  # housekeeping: tried again within the hour
            log.exception("could not clear old handled updates from the inbox")
            return
        if forgotten:
            log.info("forgot %d handled updates older than %s", forgotten, inbox.KEEP_HANDLED)

    async def handle(self, row: Row[Any]) -> None:
        """Run one stored update through the handlers and mark it (see tasks/inbox.py)."""
        ctx, attempts = self.ctx, row.attempts + 1
        if attempts > inbox.MAX_ATTEMPTS:
            reason = f"处理中断 {row.attempts} 次，不再重试"
            # Its handling began that often and never ended: the process died (or the database
            # went away) each time. Once more could kill the bot again, so it is given up.
            log.error("handling update %s was interrupted %d times; marked failed and skipped",
                      row.update_id, row.attempts)
            await ctx.run(lambda session: inbox.finish(session, ctx.clock, row.id, reason, failed=True))
            return
        await ctx.run(lambda session: inbox.begin(session, row.id, attempts))
        try:
            update = Update.de_json(json.loads(row.payload), self.bot)
        except Exception as error:
            reason = f"无法解析：{type(error).__name__}: {error}"
            log.error("update %s cannot be read (%s: %s); marked failed and skipped", row.update_id,
                      type(error).__name__, error)
            await ctx.run(lambda session: inbox.finish(session, ctx.clock, row.id, reason, failed=True))
            return
        handling = inbox.Handling(row.id)
        token = inbox.HANDLING.set(handling)
        try:
            await self.application.process_update(update)
        finally:
            inbox.HANDLING.reset(token)
        if not handling.marked:
            await ctx.run(lambda session: inbox.finish(session, ctx.clock, row.id, handling.error,
                                                       failed=bool(handling.error)))


async def note_failure(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Error handler: what a handler raised is kept on its inbox row (the next error handler
    tells the person and logs it)."""
    handling = inbox.HANDLING.get()
    if handling is not None and context.error is not None:
        handling.error = f"{type(context.error).__name__}: {context.error}"


def _refusal(status: int) -> web.Response:
    response = web.Response(status=status)
    # Closed after the answer: aiohttp would otherwise read and discard the rest of the body.
    response.force_close()
    return response
