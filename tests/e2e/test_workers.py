"""Three `taskbot worker` processes on one PostgreSQL: each reminder planned once, each notification sent once,
and together they keep under Telegram's flood limits."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

from sqlmodel import select

from bot.flood import FloodLimits
from bot.sandbox.server import SandboxServer
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Outbox, Role, Unit
from tasks.work.members import create_invite, redeem_invite
from tests.databases import empty_postgres
from tests.factories import ADMIN, seed_plan
from tests.harness import queue_one_per_new_chat


def test_three_workers_send_each_notification_once(postgres_database: str) -> None:
    empty_postgres(postgres_database)
    engine = make_engine(postgres_database)
    clock = FixedClock(datetime(2021, 10, 1, 1, tzinfo=UTC))
    seed_plan(engine, clock)
    # The server enforces Telegram's limits: three processes together must keep under them.
    server = SandboxServer(flood_limits=FloodLimits()).start_in_thread()
    with transaction(engine) as session:
        units = session.exec(select(Unit).where(Unit.kind.in_(("department", "town", "street")))).all()
        for n, unit in enumerate(units):  # one member per unit: the planner will remind all of them
            user_id = 20_000 + n
            server.person(user_id, unit.name)
            code = create_invite(session, clock, ADMIN, Role.MEMBER, unit).code
            redeem_invite(session, clock, code, channel="telegram", user_id=str(user_id), address=str(user_id), name=unit.name, is_group=False)
        queue_one_per_new_chat(session, clock, server, 120, 30_000, "queued")  # and a queue already waiting
    env = {**os.environ, "TASKBOT_TOKEN": server.token, "PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-m", "bot.cli", "--database-url", postgres_database, "--now", "2021-10-15T09:05",
               "worker", "--base-url", server.base_url, "--until-idle"]
    try:
        workers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outcomes = [(w.wait(timeout=180), w.stderr.read()) for w in workers]
        assert all(code == 0 for code, _ in outcomes), outcomes
        # Anything a worker left when it went idle early: one more pass.
        subprocess.run(command, env=env, check=True, timeout=120)
        with transaction(engine) as session:
            rows = session.exec(select(Outbox)).all()
        sent = Counter((m["chat"]["id"], m["text"]) for m in server.messages())
        # The d10 reminders of 10/31 tasks, planned by the three workers together: a card where a unit
        # has one, else a line in the unit's list.
        reminders = [r for r in rows if r.kind == "reminder"]
        reminders += [i for r in rows if r.kind == "duties_due" for i in r.payload["items"] if i["kind"] == "reminder"]
        assert len(reminders) > 50
        assert {r.status for r in rows} == {"sent"}
        assert len(sent) == len(rows) and max(sent.values()) == 1  # each one delivered exactly once
        assert server.state.rejected == []  # not one 429 although three processes sent at once
    finally:
        server.stop()
        engine.dispose()
