"""Planner tick cost as the number of open assignments grows while what is due stays fixed.

    .venv/bin/python bench/bench_planner.py [--sizes 10000 100000 1000000] [--due 1000]
                                            [--backend sqlite|postgresql|both]

For each size it builds a database with that many open assignments (1,000 tasks' worth of
units, deadlines spread over the year), of which exactly --due have next_check_at in the past,
binds one member per unit, and times planner ticks (each tick is measured on a fresh copy of
the due set) as a running worker makes them; the first tick of a fresh worker, which also
connects, compiles its statements and computes each deadline's schedule, is printed apart.
The goal: cost follows what is due, not what exists.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import insert, update
from sqlmodel import SQLModel, col

from tasks.bulk import load_rows
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import create_schema, make_engine, transaction
from tasks.models import Assignment, Member, Outbox, Plan, Task, Unit
from tasks.plan.importer import refresh_statistics

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 10, 15, 1, 30, tzinfo=UTC)  # 09:30 Beijing on a working day
UNITS = 200
CHUNK = 20_000


def build(url: str, size: int, due: int) -> None:
    engine = make_engine(url)
    create_schema(engine)
    rng = random.Random(size)
    created = NOW - timedelta(days=120)
    with transaction(engine) as session:
        plan = Plan(year=2021, title=f"bench {size}", imported_at=created)
        session.add(plan)
        session.flush()
        units = [Unit(name=f"单位{n}", kind="department", created_at=created) for n in range(UNITS)]
        session.add_all(units)
        session.flush()
        session.add_all(Member(user_id=10_000 + n, chat_id=10_000 + n, name=f"m{n}", role="member",
                               unit_id=u.id, created_at=created) for n, u in enumerate(units))
        plan_id, unit_ids = plan.id, [u.id for u in units]
    tasks = max(1, size // 10)
    with engine.begin() as connection:
        for start in range(0, tasks, CHUNK):
            connection.execute(insert(Task), [
                {"plan_id": plan_id, "ref": f"t{n}", "kind": "task", "text": f"任务{n}", "position": n,
                 "deadline": date(2021, 6, 1) + timedelta(days=n % 200), "status": "active",
                 "created_at": created, "updated_at": created} for n in range(start, min(tasks, start + CHUNK))])
        first_task = connection.execute(Task.__table__.select().limit(1)).first()[0]
        future = NOW + timedelta(days=3650)
        for start in range(0, size, CHUNK):
            rows = []
            for n in range(start, min(size, start + CHUNK)):
                task = first_task + n // 10
                rows.append({"task_id": task, "unit_id": unit_ids[(n * 7 + rng.randrange(3)) % UNITS],
                             "role": "lead" if n % 10 == 0 else "co", "position": n % 10, "status": "open",
                             "due_on": date(2021, 6, 1) + timedelta(days=(n // 10) % 200),
                             "next_check_at": future, "planned_until": created,
                             "created_at": created, "updated_at": created})
            # (task, unit) is unique: spread units so that a task's ten assignments differ
            for index, row in enumerate(rows):
                row["unit_id"] = unit_ids[(index + start) % UNITS]
            load_rows(connection, Assignment, rows)  # COPY on PostgreSQL, as an import loads them
    refresh_statistics(engine)  # as taskbot import does after a large import
    engine.dispose()


def reset_due(url: str, due: int, seed: int) -> None:
    """Make exactly ``due`` assignments due now (and nothing else), clearing earlier outbox rows."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(Outbox.__table__.delete())
        connection.execute(update(Assignment).where(col(Assignment.next_check_at) <= NOW)
                           .values(next_check_at=NOW + timedelta(days=3650)))
        total = connection.execute(Assignment.__table__.select().with_only_columns(col(Assignment.id))
                                   .order_by(col(Assignment.id).desc()).limit(1)).scalar_one()
        chosen = random.Random(seed).sample(range(1, total + 1), due)
        for start in range(0, due, 500):
            connection.execute(update(Assignment).where(col(Assignment.id).in_(chosen[start:start + 500]))
                               .values(next_check_at=NOW - timedelta(minutes=5), planned_until=NOW - timedelta(days=1)))
    engine.dispose()


def time_ticks(url: str, due: int, repeat: int) -> tuple[float, list[float]]:
    """The first tick of a fresh worker, then ``repeat`` ticks of the same worker (its engine's
    connections and compiled statements, and the schedule's per-deadline cache, kept between
    ticks as a running worker keeps them)."""
    policy, calendar, clock = Policy(timezone=SH), WorkCalendar(), FixedClock(NOW)
    engine = make_engine(url)
    times = []
    for attempt in range(repeat + 1):
        reset_due(url, due, attempt)
        start = time.perf_counter()
        result = planner.run_tick(partial(_in, engine), clock, policy, calendar)
        times.append(time.perf_counter() - start)
        assert result.assignments == due, result
    engine.dispose()
    return times[0], times[1:]


def _in(engine, work):
    with transaction(engine) as session:
        return work(session)


def fresh_url(backend: str, work: Path, admin_url: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / (uuid.uuid4().hex + '.db')}"
    name = f"taskbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def drop(url: str, admin_url: str) -> None:
    if url.startswith("postgresql"):
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description="planner tick cost vs. number of open assignments")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="taskbot-planner-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        medians = {}
        for size in args.sizes:
            url = fresh_url(backend, work, args.postgres)
            try:
                started = time.perf_counter()
                build(url, size, args.due)
                built = time.perf_counter() - started
                first, times = time_ticks(url, args.due, args.repeat)
                medians[size] = statistics.median(times)
                print(f"{backend:<10} {size:>9} open, {args.due} due: tick median {medians[size] * 1000:7.1f} ms "
                      f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}; first tick of a fresh worker "
                      f"{first * 1000:.1f} ms; built in {built:.0f} s)", flush=True)
            finally:
                drop(url, args.postgres)
        if len(medians) > 1:
            small, large = min(medians), max(medians)
            print(f"{backend:<10} ratio {large}/{small}: {medians[large] / medians[small]:.2f}", flush=True)
    SQLModel.metadata.clear()


if __name__ == "__main__":
    main()
