"""The bot and the local Bot API server running together: for the terminal sandbox and the tests.

The server runs on its own thread, the real Application on another — under ``run_polling``,
or under ``run_webhook`` with the server pushing updates to it — exactly as a deployment runs
it; the caller acts as people through the server.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sqlalchemy import Engine

from bot.app import DeskPlan, Webhook, build_application, run_application
from bot.channels.runtime import DomesticChannels
from bot.context import BotContext
from bot.sandbox.server import Person, SandboxServer
from bot.scheduler import plan_once
from tasks import inbox, outbox
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Role
from tasks.work.lookup import unit_named
from tasks.work.members import create_invite, find_member, has_member_row, redeem_invite

SANDBOX_ADMIN = Actor("sandbox", "cli")


def settle(ctx: BotContext, timeout: float = 10.0) -> None:
    """Wait until the outbox has delivered everything due (on whichever platform), so that what
    the bot answers next is not mixed with it."""
    deadline = time.monotonic() + timeout
    while True:
        with transaction(ctx.engine) as session:
            pending = outbox.count_due(session, ctx.clock)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending} notifications still pending")
        time.sleep(0.01)


class SandboxRuntime:
    def __init__(self, ctx: BotContext, server: SandboxServer | None = None, webhook: Webhook | None = None,
                 desk: DeskPlan | None = None, channels: DomesticChannels | None = None) -> None:
        self.ctx = ctx
        self.desk = desk  # the web desk, served beside the bot once it starts (its address: ctx.desk_url)
        self.channels = channels  # domestic platforms served beside Telegram (bot/channels/runtime.py)
        self.webhook = webhook  # None: the bot polls; else the server pushes updates to this listener
        self.engine: Engine = ctx.engine
        self.server = server or SandboxServer()
        self.app = None
        self.failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> SandboxRuntime:
        # A new sandbox server counts updates from 1; the inbox of an earlier run has those ids.
        self.server.continue_update_ids(self.ctx.in_transaction(inbox.last_update_id))
        self.server.start_in_thread()
        self.app = build_application(self.ctx, self.server.token, base_url=self.server.base_url,
                                     base_file_url=self.server.base_file_url, desk=self.desk,
                                     channels=self.channels)
        self._thread = threading.Thread(target=self._run, name="bot", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (self.app.running and self.app.updater and self.app.updater.running):
            if self.failure is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start: {self.failure!r}")
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        assert self.app is not None
        try:
            if self.webhook is None:
                run_application(self.app, None, stop_signals=None, poll_interval=0.0, timeout=1, close_loop=True)
            else:
                run_application(self.app, self.webhook, stop_signals=None, close_loop=True)
        except BaseException as error:  # reported to the caller through self.failure
            self.failure = error

    def stop(self, timeout: float = 120.0) -> None:
        """Stop the bot (it finishes the update in hand), then the server it talks to."""
        if self.app is not None and self.ctx.loop is not None and self.app.running:
            self.ctx.loop.call_soon_threadsafe(self.app.stop_running)
        if self._thread is not None:
            self._thread.join(timeout)
        self.server.stop()

    # --- acting as people ---

    def invite(self, role: Role, unit_name: str | None = None) -> str:
        with transaction(self.engine) as session:
            unit = unit_named(session, unit_name) if unit_name else None
            return create_invite(session, self.ctx.clock, SANDBOX_ADMIN, role, unit).code

    def join(self, user_id: int, name: str, role: Role, unit_name: str | None = None) -> Person:
        """A person who binds with a fresh invite code, as a real one would."""
        person = self.server.person(user_id, name)
        reply = self.say(person, f"/start {self.invite(role, unit_name)}")
        if "绑定成功" not in reply["text"]:
            raise RuntimeError(f"{name} could not bind: {reply['text']}")
        return person

    def bind(self, user_id: int, name: str, role: Role, unit_name: str | None = None) -> tuple[Person, bool]:
        """The person's chat on the server, and their binding (through an invite code, as /start
        redeems it) if they have none yet: both can be done before the bot starts, so the
        planner's first pass already has someone to tell. True when newly bound."""
        person = self.server.person(user_id, name)
        with transaction(self.engine) as session:
            if has_member_row(session, "telegram", str(user_id)):
                return person, False
            unit = unit_named(session, unit_name) if unit_name else None
            code = create_invite(session, self.ctx.clock, SANDBOX_ADMIN, role, unit).code
            redeem_invite(session, self.ctx.clock, code, channel="telegram", user_id=str(user_id),
                          address=str(user_id), name=name, is_group=False)
        return person, True

    def bind_group(self, chat_id: int, title: str, unit_name: str, user_id: int) -> Person:
        """A unit's group chat on the server, bound to the unit as a /start there binds it (once),
        and the person who speaks in it (a member of that unit, bound already)."""
        self.server.group(chat_id, title)
        with transaction(self.engine) as session:
            if find_member(session, "telegram", "", str(chat_id), is_group=True) is None:
                code = create_invite(session, self.ctx.clock, SANDBOX_ADMIN, Role.MEMBER,
                                     unit_named(session, unit_name)).code
                redeem_invite(session, self.ctx.clock, code, channel="telegram", user_id=str(user_id),
                              address=str(chat_id), name=title, is_group=True)
        return self.server.person(user_id, self.server.state.chats[user_id]["first_name"])

    def release_leases(self) -> int:
        """Free the claims an earlier run left on its notifications. The local server lives and
        dies with this process, so a sender of an earlier run cannot be sending to this one's:
        every lease found before the bot starts is stale, and would hold its row back for a
        minute of the clock (or for ever, if the clock was set back)."""
        with transaction(self.engine) as session:
            return outbox.release_leases(session)

    def plan(self) -> None:
        """One planner pass now, as the scheduler's next tick would make it (after a jump of the clock)."""
        ctx = self.ctx
        if ctx.policy is not None and ctx.calendar is not None:
            plan_once(ctx, ctx.policy, ctx.calendar)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the outbox has delivered everything due, so that replies are not mixed with it."""
        settle(self.ctx, timeout)

    def say(self, person: Person, text: str, *, chat_id: int | None = None, pages: int = 1) -> dict[str, Any]:
        """Send a text as the person and return the bot's (last) reply in that chat."""
        chat = chat_id if chat_id is not None else person.id
        self.settle()
        before = len(self.server.messages(chat))
        self.server.send_text(person, text, chat_id=chat_id)
        return self.server.wait_for(chat, after=before, count=pages)[-1]

    def tap(self, person: Person, message: dict[str, Any], button: str) -> dict[str, Any]:
        chat = message["chat"]["id"]
        self.settle()
        before = len(self.server.messages(chat))
        self.server.tap(person, message, button)
        return self.server.wait_for(chat, after=before)[-1]

    def next_message(self, chat_id: int, after: int) -> dict[str, Any]:
        return self.server.wait_for(chat_id, after=after)[0]
