"""What taking updates in costs: a writing command's latency, and a backlog's throughput.

    .venv/bin/python bench/bench_intake.py [--updates 1000] [--runs 200] [--backlogs 3]
                                           [--backend sqlite|postgresql] [--postgres URL]

Starts `taskbot run` as its own process against the local Bot API server (as bench_commands
does) on a scratch database of 10,000 assignments, and acts as a unit member through the server:
- /report one at a time (send → reply received), --runs times: each goes through the inbox
  (stored, begun, handled in the report's own transaction), so this is the write path's latency;
- --updates /report messages at once, as after an outage, --backlogs times: the time until every
  one is answered.
It counts the bot's replies, not the inbox, so the same script measures a checkout without one;
and it checks the database holds each report once: a report lost or written twice fails the bench.
"""

from __future__ import annotations

import argparse
import time

from common import (
    BenchError,
    add_database_options,
    add_runs_option,
    best_median,
    build_assignments,
    join,
    require,
    run,
    running_bot,
    say,
    scratch_database,
)
from sqlalchemy import Engine, func
from sqlmodel import col, select

from bot.sandbox.server import SandboxServer
from tasks.db import make_engine, transaction
from tasks.models import Assignment, Report, Role, Unit

RECORDED = "已记录任务"


def reports_written(engine: Engine, prefix: str) -> tuple[int, int]:
    """(reports whose text starts with ``prefix``, how many distinct texts they have)."""
    with transaction(engine) as session:
        matching = col(Report.text).like(f"{prefix}%")
        return (session.exec(select(func.count()).select_from(Report).where(matching)).one(),
                session.exec(select(func.count(func.distinct(Report.text))).where(matching)).one())


def main() -> int:
    parser = argparse.ArgumentParser(description="the cost of taking updates in")
    parser.add_argument("--updates", type=int, default=1000)
    add_runs_option(parser, 200, "/report sent one at a time")
    parser.add_argument("--backlogs", type=int, default=3, help="times --updates /report are sent at once")
    add_database_options(parser)
    args = parser.parse_args()
    with scratch_database("intake", args.backend, args.postgres) as url:
        server = SandboxServer().start_in_thread()
        try:
            build_assignments(url, 10_000)
            engine = make_engine(url)
            with transaction(engine) as session:
                task = session.exec(select(Assignment.task_id).join(Unit).where(Unit.name == "单位0")).first()
            with running_bot(url, server):
                member = join(server, engine, 1, Role.MEMBER, "单位0")
                timings = []
                for n in range(args.runs):
                    begin = time.perf_counter()
                    reply = say(server, member, f"/report {task} 10% 逐条第{n}次")
                    timings.append(time.perf_counter() - begin)
                    require(f"{RECORDED} {task} 的进展" in reply["text"], f"/report answered: {reply['text']}")
                require(reports_written(engine, "逐条第") == (args.runs, args.runs),
                        f"{args.runs} /report one at a time, reports written (all, distinct): "
                        f"{reports_written(engine, '逐条第')}")
                print(f"{args.backend}: /report one at a time   {best_median(timings, 'ms', 1000, 1, p99=True)}",
                      flush=True)
                backlogs = []
                for backlog in range(args.backlogs):
                    before = sum(RECORDED in (m.get("text") or "") for m in server.messages(member.id))
                    prefix = f"积压{backlog}第"
                    begin = time.perf_counter()
                    for n in range(args.updates):
                        server.send_text(member, f"/report {task} 10% {prefix}{n}条")
                    server.wait_for(member.id, count=before + args.updates, timeout=600,
                                    predicate=lambda m: RECORDED in (m.get("text") or ""))
                    backlogs.append(time.perf_counter() - begin)
                    written = reports_written(engine, prefix)
                    require(written == (args.updates, args.updates),
                            f"backlog {backlog}: {args.updates} /report sent, reports written (all, distinct): "
                            f"{written}")
                print(f"{args.backend}: {args.updates} /report at once, all answered and each written once: "
                      f"{best_median(backlogs, digits=1)}, "
                      f"{args.updates / min(backlogs):.0f} a second at best", flush=True)
            engine.dispose()
        except BenchError as error:
            print(f"WRONG: {error}", flush=True)
            return 1
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    run(main)
