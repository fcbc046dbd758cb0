"""The year simulation at scale: planner and sender, hour by hour, June 2021 to January 2022.

    .venv/bin/python bench/bench_year.py [--assignments 10000] [--backend sqlite|postgresql] [--postgres URL]
                                         [--runs 1] [--no-delivery] [--server-thread] [--in-flight 4]
                                         [--until 2022-01-31]

Builds the synthetic database of bench_planner, in a scratch database of its own (every unit has a
member, so every reminder, escalation and check-in is delivered) and an office member and a leader
(who get the escalations and the weekly digest), then plays 2021-06-18 … 2022-01-31 on a moved clock with
the real planner and the real sender delivering through the local Bot API server (in a process
of its own, as Telegram's is elsewhere; ``--server-thread`` keeps it in this one). Prints the
wall time and how much was sent, the days the digest went out (each week's first working day),
and how much was sent in the National Day holiday (2021-10-01 … 10-07: nothing); with --runs N,
the best and median wall time of N years, each on a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date, datetime, timedelta

from common import (
    SH,
    UNITS,
    add_database_options,
    add_in_flight_option,
    add_runs_option,
    best_median,
    build_assignments,
    run,
    scratch_database,
)
from sandbox_process import SandboxProcess, outcome_of, serve_people
from sqlalchemy import func, select, update
from sqlmodel import Session

from bot.context import BotContext
from bot.sandbox.server import SandboxServer
from bot.sender import OutboxSender, TelegramTransport
from bot.telegram_http import make_bot
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine
from tasks.models import Assignment, Member, Outbox

START = datetime(2021, 6, 18, 8, tzinfo=SH)
END = datetime(2022, 1, 31, 18, tzinfo=SH)


def play_year(url: str, args: argparse.Namespace) -> tuple[float, str, str]:
    """Build the data set in ``url``, play the year on it; (wall seconds, what happened, the digest's days)."""
    office, leader = 9_001, 9_002
    people = [10_000 + n for n in range(UNITS)] + [office, leader]
    build_assignments(url, args.assignments)
    engine = make_engine(url)
    with engine.begin() as connection:  # as an import leaves them: to be looked at from the start
        connection.execute(update(Assignment).values(next_check_at=START, planned_until=None))
    with Session(engine) as session, session.begin():
        session.add_all(Member(user_id=str(chat), address=str(chat), name=role, role=role, created_at=START)
                        for chat, role in ((office, "office"), (leader, "leader")))
    clock = FixedClock(START)
    policy, calendar = Policy(timezone=SH), WorkCalendar()
    ctx = BotContext(engine, clock, SH, "bench", policy=policy, calendar=calendar, paced=False,
                     in_flight=args.in_flight)
    end = datetime.combine(args.until, END.timetz())

    async def play(server: SandboxServer | SandboxProcess) -> tuple[float, int]:
        async with make_bot(server.token, server.base_url) as bot:
            sender = OutboxSender(ctx, TelegramTransport(bot))
            started, ticks, moment = time.perf_counter(), 0, START
            while moment <= end:
                clock.moment = moment
                await asyncio.to_thread(planner.run_tick, ctx.in_transaction, clock, policy, calendar)
                while not args.no_delivery and await sender.deliver_due(limit=500):
                    pass
                moment += timedelta(hours=1)
                ticks += 1
            return time.perf_counter() - started, ticks

    if args.server_thread:
        server = serve_people(people)
        try:
            elapsed, ticks = asyncio.run(play(server))
            delivered, rejected = outcome_of(server)
        finally:
            server.stop()
    else:
        with SandboxProcess(people) as remote:
            elapsed, ticks = asyncio.run(play(remote))
            delivered, rejected = remote.finish()
    with engine.connect() as connection:
        queued = connection.execute(select(func.count()).select_from(Outbox)).scalar_one()
        digest_days = sorted({at.astimezone(SH).date() for at in connection.execute(
            select(Outbox.created_at).where(Outbox.kind == "digest")).scalars()})
        holiday = connection.execute(select(func.count()).select_from(Outbox).where(
            Outbox.created_at >= datetime(2021, 10, 1, tzinfo=SH),
            Outbox.created_at < datetime(2021, 10, 8, tzinfo=SH))).scalar_one()
        # A year played in a minute gives autovacuum no time to run even where it is on.
        vacuum = (f", autovacuum {connection.exec_driver_sql('SHOW autovacuum').scalar_one()}"
                  if args.backend == "postgresql" else "")
    engine.dispose()
    where = "in a thread of this process" if args.server_thread else "in its own process"
    happened = (f"{ticks} hourly ticks from {START:%Y-%m-%d} to {end:%Y-%m-%d}: {queued} notifications planned, "
                f"{delivered} delivered, {len(rejected)} refused (Bot API server {where}{vacuum})")
    off_monday = ", ".join(f"{day:%m-%d %a}" for day in digest_days if day.weekday() != 0)
    digest = (f"digest on {len(digest_days)} days: Mondays, and {off_monday or 'no other day'} (a holiday week's "
              f"first working day); {holiday} notifications queued 2021-10-01 … 10-07")
    return elapsed, happened, digest


def main() -> None:
    parser = argparse.ArgumentParser(description="year simulation wall time")
    parser.add_argument("--assignments", type=int, default=10_000)
    add_database_options(parser)
    parser.add_argument("--no-delivery", action="store_true", help="plan only: notifications stay in the outbox")
    parser.add_argument("--server-thread", action="store_true",
                        help="run the local Bot API server in a thread of this process (it then shares its CPU)")
    add_in_flight_option(parser)
    parser.add_argument("--until", type=date.fromisoformat, default=END.date(),
                        help="last day played (a shorter run, for profiling)")
    add_runs_option(parser, 1, "years played, each on a fresh database")
    args = parser.parse_args()
    walls = []
    for _ in range(args.runs):
        with scratch_database("year", args.backend, args.postgres) as url:
            elapsed, happened, digest = play_year(url, args)
        walls.append(elapsed)
        print(f"{args.backend}: {args.assignments} assignments, {happened}: {elapsed:.1f} s wall", flush=True)
        print(digest, flush=True)
    print(f"{args.backend}: wall time {best_median(walls, digits=1)}")


if __name__ == "__main__":
    run(main)
