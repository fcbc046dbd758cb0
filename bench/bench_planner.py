"""Planner tick cost as the number of open assignments grows while what is due stays fixed.

    .venv/bin/python bench/bench_planner.py [--sizes 10000 100000 1000000] [--due 1000] [--runs 3]
                                            [--backend sqlite|postgresql|both] [--postgres URL]

For each size it builds a database with that many open assignments (1,000 tasks' worth of
units, deadlines spread over the year), of which exactly --due have next_check_at in the past,
binds one member per unit, and times --runs planner ticks (each tick is measured on a fresh copy of
the due set) as a running worker makes them; the first tick of a fresh worker, which also
connects, compiles its statements and computes each deadline's schedule, is printed apart.
The goal: cost follows what is due, not what exists.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from common import NOW, SH, add_database_options, add_runs_option, best_median, build_assignments, run, scratch_database
from sqlalchemy import Engine, update
from sqlmodel import Session, SQLModel, col

from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import make_engine, transaction
from tasks.models import Assignment, Outbox


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


def time_ticks(url: str, due: int, runs: int) -> tuple[float, list[float]]:
    """The first tick of a fresh worker, then ``runs`` ticks of the same worker (its engine's
    connections and compiled statements, and the schedule's per-deadline cache, kept between
    ticks as a running worker keeps them)."""
    policy, calendar, clock = Policy(timezone=SH), WorkCalendar(), FixedClock(NOW)
    engine = make_engine(url)
    times = []
    for attempt in range(runs + 1):
        reset_due(url, due, attempt)
        start = time.perf_counter()
        result = planner.run_tick(partial(_in, engine), clock, policy, calendar)
        times.append(time.perf_counter() - start)
        assert result.assignments == due, result
    engine.dispose()
    return times[0], times[1:]


def _in(engine: Engine, work: Callable[[Session], Any]) -> Any:
    with transaction(engine) as session:
        return work(session)


def main() -> None:
    parser = argparse.ArgumentParser(description="planner tick cost vs. number of open assignments")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    add_runs_option(parser, 3, "ticks timed at each size, after the first tick of a fresh worker")
    add_database_options(parser, both=True)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        medians = {}
        for size in args.sizes:
            with scratch_database("planner", backend, args.postgres) as url:
                started = time.perf_counter()
                build_assignments(url, size)
                built = time.perf_counter() - started
                first, times = time_ticks(url, args.due, args.runs)
            medians[size] = statistics.median(times)
            print(f"{backend:<10} {size:>9} open, {args.due} due: tick {best_median(times, 'ms', 1000, 1)}; "
                  f"max {max(times) * 1000:.1f} ms; first tick of a fresh worker {first * 1000:.1f} ms; "
                  f"built in {built:.0f} s", flush=True)
        if len(medians) > 1:
            small, large = min(medians), max(medians)
            print(f"{backend:<10} ratio of medians {large}/{small}: {medians[large] / medians[small]:.2f}", flush=True)
    SQLModel.metadata.clear()


if __name__ == "__main__":
    run(main)
