"""What taking updates in costs: a writing command's latency, and a backlog's throughput.

    .venv/bin/python bench/bench_intake.py [--updates 1000] [--rounds 200] [--backend sqlite|postgresql]

Starts `taskbot run` as its own process against the local Bot API server (as bench_commands
does) on a database of 10,000 assignments, and acts as a unit member through the server:
- /report one at a time (send → reply received), --rounds times: each goes through the inbox
  (stored, begun, handled in the report's own transaction), so this is the write path's latency;
- --updates /report messages at once, as after an outage: the time until every one is answered.
It counts the bot's replies, not the inbox, so the same script measures a checkout without one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_planner
from bench_commands import join, percentile, say
from sqlmodel import select

from bot.sandbox.server import SandboxServer
from tasks.db import make_engine, transaction
from tasks.models import Assignment, Role, Unit

RECORDED = "已记录任务"


def main() -> None:
    parser = argparse.ArgumentParser(description="the cost of taking updates in")
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    url = bench_planner.fresh_url(args.backend, Path(tempfile.mkdtemp()), args.postgres)
    server = SandboxServer().start_in_thread()
    bot = None
    try:
        bench_planner.build(url, 10_000, 0)
        engine = make_engine(url)
        with transaction(engine) as session:
            task = session.exec(select(Assignment.task_id).join(Unit).where(Unit.name == "单位0")).first()
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
        timings = []
        for n in range(args.rounds):
            begin = time.perf_counter()
            reply = say(server, member, f"/report {task} 10% 第{n}次")
            timings.append((time.perf_counter() - begin) * 1000)
            assert RECORDED in reply["text"], reply["text"]
        print(f"{args.backend}: /report one at a time   p50 {statistics.median(timings):6.1f} ms   "
              f"p99 {percentile(timings, 0.99):6.1f} ms", flush=True)
        before = sum(RECORDED in (m.get("text") or "") for m in server.messages(member.id))
        begin = time.perf_counter()
        for n in range(args.updates):
            server.send_text(member, f"/report {task} 10% 积压第{n}条")
        server.wait_for(member.id, count=before + args.updates, timeout=600,
                        predicate=lambda m: RECORDED in (m.get("text") or ""))
        elapsed = time.perf_counter() - begin
        print(f"{args.backend}: {args.updates} /report at once   all answered in {elapsed:5.1f} s   "
              f"({args.updates / elapsed:.0f} a second)", flush=True)
        engine.dispose()
    finally:
        if bot is not None:
            bot.terminate()
            bot.wait(30)
        server.stop()
        bench_planner.drop(url, args.postgres)


if __name__ == "__main__":
    main()
