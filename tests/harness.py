"""End-to-end harness: the real Application under ``run_polling`` against the local Bot API server.

The server runs on its own thread, the bot on another (as a deployment runs it), the
test acts as people through the server's control side and reads what the bot sent.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import SQLModel, col, func, select

from bot.app import build_application
from bot.context import BotContext
from bot.sandbox.server import Person, SandboxServer
from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock, db_time
from tasks.db import make_engine, transaction
from tasks.events import Actor
from tasks.importer import import_file, prepare_database
from tasks.members import create_invite
from tasks.models import Outbox, OutboxStatus, Role, Task, Unit
from tasks.units import UnitDirectory

ADMIN = Actor("admin", "cli")


class BotHarness:
    def __init__(self, database_url: str, clock: FixedClock) -> None:
        self.clock = clock
        self.engine: Engine = make_engine(database_url)
        directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
        prepare_database(self.engine, directory, clock, ADMIN)
        import_file(self.engine, seed_path(MENTOUGOU_2021), clock, ADMIN, district=directory.district)
        self.server = SandboxServer().start_in_thread()
        self.ctx = BotContext(self.engine, clock, ZoneInfo("Asia/Shanghai"), directory.district, outbox_interval=0.02)
        self.app = build_application(self.ctx, self.server.token, base_url=self.server.base_url,
                                     base_file_url=self.server.base_file_url)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bot", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not (self.app.running and self.app.updater and self.app.updater.running):
            if self.failure is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bot did not start: {self.failure!r}")
            time.sleep(0.01)

    def _run(self) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            self.app.run_polling(stop_signals=None, poll_interval=0.0, timeout=1, close_loop=True)
        except BaseException as error:  # surfaced by the test through self.failure
            self.failure = error

    def stop(self) -> None:
        if self.ctx.loop is not None and self.app.running:
            self.ctx.loop.call_soon_threadsafe(self.app.stop_running)
        self.thread.join(20)
        self.server.stop()
        self.engine.dispose()

    # --- people ---

    def invite(self, role: Role, unit_name: str | None = None) -> str:
        with transaction(self.engine) as session:
            unit = session.exec(select(Unit).where(Unit.name == unit_name)).one() if unit_name else None
            return create_invite(session, self.clock, ADMIN, role, unit).code

    def join(self, user_id: int, name: str, role: Role, unit_name: str | None = None) -> Person:
        person = self.server.person(user_id, name)
        reply = self.say(person, f"/start {self.invite(role, unit_name)}")
        assert "绑定成功" in reply["text"], reply["text"]
        return person

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the outbox has delivered everything due, so that replies are not mixed with it."""
        deadline = time.monotonic() + timeout
        while True:
            with transaction(self.engine) as session:
                pending = session.exec(select(func.count()).select_from(Outbox).where(
                    Outbox.status == OutboxStatus.PENDING, col(Outbox.next_attempt_at) <= db_time(self.clock))).one()
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pending} notifications still pending")
            time.sleep(0.01)

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

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table: equal snapshots mean the database did not change."""
        with self.engine.connect() as connection:
            return {table.name: sorted(tuple(str(v) for v in row) for row in connection.execute(table.select()))
                    for table in SQLModel.metadata.sorted_tables}

    def task_id(self, ref: str) -> int:
        with transaction(self.engine) as session:
            task_id = session.exec(select(Task.id).where(Task.ref == ref)).one()
            assert task_id is not None
            return task_id
