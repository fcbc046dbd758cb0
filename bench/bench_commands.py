"""Command latency end to end through the local Bot API server, and the process's peak memory.

    .venv/bin/python bench/bench_commands.py [--assignments 1000000] [--rounds 100] [--backend sqlite|postgresql]

Builds a database with --assignments open assignments over assignments/10 tasks, runs the real
bot against the local server, and times (send → reply received) 我的任务 for a unit member,
/overdue for the whole district and /stats for a leader. Then computes the weekly digest at
that size and prints the peak resident memory of this process (bot, server and bench together:
an upper bound for the bot process).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
import bench_planner

from bot.context import BotContext
from bot.sandbox.runtime import SandboxRuntime
from tasks.db import make_engine, transaction
from tasks.digest import weekly_digest
from tasks.models import Role
from tasks.policy import Policy

SH = ZoneInfo("Asia/Shanghai")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description="command latency and peak memory")
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    url = bench_planner.fresh_url(args.backend, Path(tempfile.mkdtemp()), args.postgres)
    try:
        started = time.perf_counter()
        bench_planner.build(url, args.assignments, 0)
        print(f"{args.backend}: {args.assignments} assignments over {args.assignments // 10} tasks, "
              f"built in {time.perf_counter() - started:.0f} s", flush=True)
        engine = make_engine(url)
        clock = bench_planner.FixedClock(bench_planner.NOW)
        runtime = SandboxRuntime(BotContext(engine, clock, SH, "门头沟区", paced=False)).start()
        try:
            member = runtime.join(1, "单位成员", Role.MEMBER, "单位0")
            office = runtime.join(2, "督办办公室", Role.OFFICE)
            leader = runtime.join(3, "分管领导", Role.LEADER)
            for label, person, text in (("我的任务 (member)", member, "我的任务"),
                                        ("/overdue whole district (office)", office, "/overdue"),
                                        ("/stats (leader)", leader, "/stats")):
                timings = []
                for _ in range(args.rounds):
                    begin = time.perf_counter()
                    runtime.say(person, text)
                    timings.append((time.perf_counter() - begin) * 1000)
                p50, p99 = statistics.median(timings), percentile(timings, 0.99)
                print(f"  {label:<34} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms", flush=True)
        finally:
            runtime.stop()
        begin = time.perf_counter()
        with transaction(engine) as session:
            weekly_digest(session, clock.now().astimezone(SH).date(), Policy(timezone=SH))
        print(f"  weekly digest at this size: {time.perf_counter() - begin:.2f} s")
        engine.dispose()
    finally:
        bench_planner.drop(url, args.postgres)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
