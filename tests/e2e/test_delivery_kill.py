"""kill -9 of a sending `taskbot worker`: at most `[delivery] in_flight` repeats per kill, nothing lost.

A message Telegram has taken but the database has not yet marked sent is sent again once its
lease runs out: without Telegram's help that cannot be zero, so the bound is the window of
sends in flight. The test runs the real command in its own processes against the local Bot API
server, which holds every send 0.4 s on the wire (a far-away Telegram) so that a kill always
finds sends under way, and counts what the server received for each outbox row.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.sandbox.server import SandboxServer
from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Outbox, OutboxStatus
from tasks.outbox import LEASE
from tasks.plan.importer import prepare_database
from tasks.plan.units import UnitDirectory
from tests.factories import ADMIN
from tests.harness import queue_one_per_new_chat
from tests.processes import go, held_taskbot

WINDOW = 2
ROWS = 40
KILLS = 3
START = datetime(2021, 10, 15, 1, 0, tzinfo=UTC)  # a Friday: the planner adds no digest of its own


def queue_one_message_per_chat(database_url: str, server: SandboxServer) -> None:
    """ROWS notifications, each to a chat of its own: a chat's count on the server is its row's."""
    engine = make_engine(database_url)
    clock = FixedClock(START)
    prepare_database(engine, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)), clock, ADMIN)
    with transaction(engine) as session:
        queue_one_per_new_chat(session, clock, server, ROWS, 40_000, "kill")
    engine.dispose()


def outbox_rows(database_url: str) -> list[Outbox]:
    engine = make_engine(database_url)
    with transaction(engine) as session:
        rows = list(session.exec(select(Outbox)).all())
        session.expunge_all()
    engine.dispose()
    return rows


def test_kill_while_sending_repeats_at_most_the_window_and_loses_nothing(database_url: str, tmp_path: Path) -> None:
    server = SandboxServer(round_trip=0.4).start_in_thread()
    queue_one_message_per_chat(database_url, server)
    config = tmp_path / "config.toml"
    config.write_text(f"[delivery]\nin_flight = {WINDOW}\n", encoding="utf-8")
    env = {**os.environ, "TASKBOT_TOKEN": server.token, "PYTHONPATH": os.getcwd()}
    rng = random.Random(20211015)
    repeats_per_kill: list[int] = []

    def held_worker(run: int) -> subprocess.Popen:
        # Each run lives a lease later than the last, as a restart after the lease ran out would.
        now = (START + run * (LEASE + timedelta(seconds=1))).isoformat()
        return held_taskbot(["--config", str(config), "--database-url", database_url, "--now", now, "worker",
                             "--base-url", server.base_url, "--until-idle"], env=env, stderr=subprocess.PIPE)

    worker = next_worker = held_worker(0)  # each next run waits ready while the last one sends
    try:
        for run in range(KILLS + 1):
            worker = next_worker
            go(worker)
            if run < KILLS:
                next_worker = held_worker(run + 1)
            if run == KILLS:
                _, errors = worker.communicate(timeout=120)
                assert worker.returncode == 0, errors
                break
            wanted = len(server.messages()) + rng.randint(3, 8)
            deadline = time.monotonic() + 60
            while len(server.messages()) < wanted:
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                assert time.monotonic() < deadline, "the worker sent nothing"
                time.sleep(0.005)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            # A send already on the wire when the worker died still lands (the server finishes a request
            # whose sender has gone): counted before it has landed, its repeat would look like a second one.
            landing = time.monotonic() + 5
            while server.state.sending.total() and time.monotonic() < landing:
                time.sleep(0.01)
            # What the server has but the database does not call sent will go out again.
            received = Counter(m["chat"]["id"] for m in server.messages())
            repeats_per_kill.append(sum(1 for row in outbox_rows(database_url)
                                        if row.status != OutboxStatus.SENT and received[int(row.address)]))
    finally:
        for process in (worker, next_worker):
            if process.poll() is None:
                process.kill()
                process.wait()
        server.stop()

    rows = outbox_rows(database_url)
    received = Counter(m["chat"]["id"] for m in server.messages())
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    print(f"kill while sending: {KILLS} kills at in_flight={WINDOW}, repeats per kill {repeats_per_kill}, "
          f"{duplicates} duplicates, {len(rows)} rows")
    assert len(rows) == ROWS and {row.status for row in rows} == {OutboxStatus.SENT}
    assert all(received[int(row.address)] >= 1 for row in rows)  # nothing lost
    assert max(repeats_per_kill) <= WINDOW, repeats_per_kill
    assert duplicates == sum(repeats_per_kill)  # each one went out once more, not again and again
    assert duplicates <= WINDOW * KILLS


def test_a_bad_window_is_refused_in_one_chinese_sentence(tmp_path: Path, capsys) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text("[delivery]\nin_flight = 0\n", encoding="utf-8")
    code = main(["--config", str(config), "--database-url", f"sqlite:///{tmp_path / 'x.db'}", "outbox"])
    assert code == 1
    assert "[delivery] in_flight 应为 1 到 100 之间的整数" in capsys.readouterr().err
