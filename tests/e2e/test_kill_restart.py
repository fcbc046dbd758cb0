"""The scheduled work survives SIGKILL at random points: nothing lost, at most one duplicate per kill.

The kills fall at the sending hour of days the policy has something to send, or as people act,
at a random moment inside the tick: planning or sending. A kill in a tick with nothing to do would
only test a restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from bot.render import notification
from bot.sandbox.html_check import visible_text
from bot.sandbox.server import SandboxServer
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Outbox
from tests.e2e.year import (
    END,
    PEOPLE,
    SCHEDULED_KINDS,
    SH,
    START,
    expected,
    live_assignments,
    scripted_events,
    seed_with_people,
    sent_steps,
)

KILL_CHANCE = 0.1  # of each tick where work is due
WORKER = Path(__file__).with_name("sim_worker.py")
SENDING_HOUR = 9  # the policy's send_at, as nine() in tests/e2e/year.py has it


class Worker:
    """The worker process, killed and restarted. The next process is always started ahead and waits
    for its go (see sim_worker.py), so a restart takes over at once; it touches nothing before."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.process: subprocess.Popen | None = None
        self.next_process = self._spawn()
        self.kills = 0

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(WORKER.parent.parent.parent)}
        return subprocess.Popen([sys.executable, str(WORKER), *self.args], env=env, stdin=subprocess.PIPE, text=True)

    def start(self) -> None:
        self.process, self.next_process = self.next_process, self._spawn()
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1
        self.start()

    def stop(self) -> None:
        for process in (self.process, self.next_process):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()


def wait_ack(ack: Path, stamp: str, worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (ack.exists() and ack.read_text() == stamp):
        assert worker.process is not None and worker.process.poll() is None, "the worker died by itself"
        assert time.monotonic() < deadline, f"no acknowledgement of {stamp}"
        time.sleep(0.002)


def ticks(events: list[datetime]) -> list[datetime]:
    """The morning sending hour, noon, and the moments people act."""
    moments, day = {START, *events}, START.date()
    while day <= END.date():
        moments |= {datetime(day.year, day.month, day.day, hour, tzinfo=SH) for hour in (SENDING_HOUR, 12)}
        day += timedelta(days=1)
    return sorted(m for m in moments if START <= m <= END)


def test_killed_and_restarted_worker_loses_nothing(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    clock = FixedClock(START)
    script = scripted_events(engine, clock, seed_with_people(engine, clock))
    with transaction(engine) as session:
        busy_days = {step[-1] for step in expected(live_assignments(session))}
    busy = {moment for moment in ticks(list(script)) if moment in script
            or (moment.hour == SENDING_HOUR and moment.date() in busy_days)}
    server = SandboxServer().start_in_thread()
    for who, user_id in PEOPLE.items():
        server.person(user_id, who)
    clock_file, ack = tmp_path / "clock", tmp_path / "ack"
    clock_file.write_text("")
    worker = Worker([database_url, server.base_url, server.token, str(clock_file), str(ack)])
    worker.start()
    rng = random.Random(20211001)
    try:
        for moment in [*ticks(list(script)), END + timedelta(minutes=2)]:  # the last tick outlives any lease
            if moment in script:  # people act between the worker's ticks, as they would
                clock.moment = moment
                script[moment]()
            stamp = moment.isoformat()
            clock_file.write_text(stamp)
            if moment in busy and rng.random() < KILL_CHANCE:
                time.sleep(rng.uniform(0, 0.05))  # somewhere inside the tick: planning or sending
                worker.kill()
            wait_ack(ack, stamp, worker)
    finally:
        worker.stop()
        server.stop()

    with transaction(engine) as session:
        rows = list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())
        assignments = live_assignments(session)
    engine.dispose()
    assert worker.kills >= 5
    assert {row.status for row in rows} == {"sent"}
    # The planner's record is exactly the policy's schedule: kills neither skip nor repeat a step.
    planned = [r for r in rows if r.kind in SCHEDULED_KINDS]
    for row in planned:
        row.sent_at = row.created_at  # compare by when it was planned; a killed send goes out a tick later
    window_end = {k: v for k, v in expected(assignments).items() if k[-1] <= END.date()}
    assert sent_steps(planned) == window_end
    # Every row reached its chat; a kill between "sent" and "recorded" may repeat that one message.
    wanted: Counter = Counter()
    for row in rows:
        for page in notification(row.kind, row.payload).pages:
            wanted[(int(row.address), visible_text(page))] += 1
    # The digest's chart and ledger: two files to each who received the digest.
    for row in rows:
        if row.kind == "digest_files":
            wanted[(int(row.address), "（图表）")] += 1
            wanted[(int(row.address), "（台账）")] += 1
    delivered = Counter((m["chat"]["id"], m.get("text", "（图表）" if "photo" in m else "（台账）"))
                        for m in server.messages())
    lost = wanted - delivered
    duplicates = sum((delivered - wanted).values())
    print(f"kill/restart: {worker.kills} kills, {sum(wanted.values())} messages, {duplicates} duplicates")
    assert not lost
    assert duplicates <= worker.kills
