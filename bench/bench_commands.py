"""Command latency end to end through the local Bot API server, and the bot process's peak memory.

    .venv/bin/python bench/bench_commands.py [--assignments 1000000] [--rounds 300] [--backend sqlite|postgresql]

Builds a database with --assignments open assignments over assignments/10 tasks and starts the
bot as its own process (`taskbot run --base-url` against the local server, as a deployment runs
it). Acting as people through the server, it times (send → reply received) 我的任务 for a unit
member, /overdue for the whole district, /overdue and /unit for a group of 13 units (各镇街, as the
directory has it) and /stats for a leader (after WARM_UP untimed ones each), then prints the bot process's
peak resident memory (VmHWM) and the time to compute the weekly digest at that size.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
import bench_planner
from sqlalchemy import Engine
from sqlmodel import select

from bot.sandbox.server import Person, SandboxServer
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.db import make_engine, transaction
from tasks.events import Actor
from tasks.models import GroupMember, Role, Unit
from tasks.work.members import create_invite

SH = ZoneInfo("Asia/Shanghai")
WARM_UP = 3


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest sample that ``share`` of the samples do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def say(server: SandboxServer, person: Person, text: str, timeout: float = 60) -> dict:
    before = len(server.messages(person.id))
    server.send_text(person, text)
    return server.wait_for(person.id, after=before, timeout=timeout)[0]


def join(server: SandboxServer, engine: Engine, user_id: int, role: Role, unit_name: str | None = None) -> Person:
    with transaction(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == unit_name)).one() if unit_name else None
        code = create_invite(session, bench_planner.FixedClock(bench_planner.NOW), Actor("bench", "cli"), role,
                             unit).code
    person = server.person(user_id, f"{role}{user_id}")
    reply = say(server, person, f"/start {code}")
    assert "绑定成功" in reply["text"], reply["text"]
    return person


def add_group(engine: Engine, name: str, size: int) -> None:
    """A group unit over the first ``size`` units, as the seed directory's 各镇街 stands for 13."""
    with transaction(engine) as session:
        units = session.exec(select(Unit).order_by(Unit.id).limit(size)).all()
        group = Unit(name=name, kind="group", created_at=units[0].created_at)
        session.add(group)
        session.flush()
        session.add_all(GroupMember(group_id=group.id, member_id=unit.id, position=n) for n, unit in enumerate(units))


def main() -> None:
    parser = argparse.ArgumentParser(description="command latency and the bot's peak memory")
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=300)  # p99 of 300 is the 297th: 3 samples above it
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    url = bench_planner.fresh_url(args.backend, Path(tempfile.mkdtemp()), args.postgres)
    server = SandboxServer().start_in_thread()
    bot = None
    try:
        started = time.perf_counter()
        bench_planner.build(url, args.assignments, 0)
        print(f"{args.backend}: {args.assignments} assignments over {args.assignments // 10} tasks, "
              f"built in {time.perf_counter() - started:.0f} s", flush=True)
        engine = make_engine(url)
        add_group(engine, "各镇街", 13)
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--database-url", url, "--now", bench_planner.NOW.isoformat(), "run",
             "--base-url", server.base_url],
            env={**os.environ, "TASKBOT_TOKEN": server.token, "PYTHONPATH": os.getcwd()})
        deadline = time.monotonic() + 60
        while not server.state.commands:  # the bot sets its command menu once it is up
            if time.monotonic() > deadline or bot.poll() is not None:
                raise RuntimeError("the bot did not start")
            time.sleep(0.1)
        member = join(server, engine, 1, Role.MEMBER, "单位0")
        office = join(server, engine, 2, Role.OFFICE)
        leader = join(server, engine, 3, Role.LEADER)
        for label, person, text in (("我的任务 (member)", member, "我的任务"),
                                    ("/overdue whole district (office)", office, "/overdue"),
                                    ("/overdue 各镇街, 13 units (office)", office, "/overdue 各镇街"),
                                    ("/unit 各镇街, 13 units (office)", office, "/unit 各镇街"),
                                    ("/stats (leader)", leader, "/stats")):
            for _ in range(WARM_UP):  # the first questions after start-up read cold pages; not counted
                say(server, person, text)
                time.sleep(0.05)
            timings = []
            for _ in range(args.rounds):
                begin = time.perf_counter()
                say(server, person, text)
                timings.append((time.perf_counter() - begin) * 1000)
                time.sleep(0.05)  # let the rest of a multi-page reply arrive before the next question
            p50, p99 = statistics.median(timings), percentile(timings, 0.99)
            print(f"  {label:<34} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(timings):7.1f} ms", flush=True)
        print(f"  peak resident memory of the bot process: {peak_memory_mb(bot.pid):.0f} MB", flush=True)
        begin = time.perf_counter()
        with transaction(engine) as session:
            weekly_digest(session, bench_planner.NOW.astimezone(SH).date(), Policy(timezone=SH))
        print(f"  weekly digest at this size: {time.perf_counter() - begin:.2f} s")
        engine.dispose()
    finally:
        if bot is not None:
            bot.terminate()
            bot.wait(30)
        server.stop()
        bench_planner.drop(url, args.postgres)


if __name__ == "__main__":
    main()
