"""The ledger (台账) as a file: ``taskbot export`` at 100,000 assignments (issue 17: under 10 s).

    .venv/bin/python bench/bench_export.py [--sizes 100000] [--backend sqlite|postgresql|both] [--runs 3]

The synthetic year (bench/common.py: ten units a task, 200 units) with what a year of work leaves
behind: a progress report with a percent on a third of the duties, a fifth of them verified done,
and an approved extension on one in fifty. Timed: ``ledger_workbook`` from the query to the workbook's
bytes, the whole plan and one unit's share; the file is read back to check its rows.
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import timedelta

from common import (
    NOW,
    TODAY,
    add_database_options,
    add_runs_option,
    best_median,
    build_assignments,
    require,
    run,
    scratch_database,
)
from openpyxl import load_workbook
from sqlalchemy import Engine, update
from sqlmodel import Session, SQLModel, col, select

from tasks.bulk import load_rows
from tasks.db import make_engine
from tasks.models import Assignment, Report
from tasks.plan.ledger import LEDGER_SHEET, LedgerFile, ledger_workbook


def add_the_years_work(url: str) -> None:
    """Reports, verifications and extensions on the synthetic plan's assignments."""
    engine = make_engine(url)
    with engine.begin() as connection:
        ids = list(connection.execute(select(Assignment.id).order_by(col(Assignment.id))).scalars())
        reports = [{"assignment_id": a, "kind": "progress", "text": f"第{n}项已完成过半", "percent": 60,
                    "evidence": [], "author": "m", "review_note": "", "created_at": NOW - timedelta(days=n % 30)}
                   for n, a in enumerate(ids) if n % 3 == 0]
        load_rows(connection, Report, reports)
        done = [a for n, a in enumerate(ids) if n % 5 == 1]
        reports = [{"assignment_id": a, "kind": "completion", "text": "已办结", "evidence": [], "author": "m",
                    "review_note": "",
                     "created_at": NOW - timedelta(days=10), "review_status": "accepted", "reviewed_by": "督办办",
                     "reviewed_at": NOW - timedelta(days=9)} for a in done]
        load_rows(connection, Report, reports)
        for start in range(0, len(done), 10_000):
            connection.execute(update(Assignment).where(col(Assignment.id).in_(done[start:start + 10_000]))
                               .values(status="done"))
        extended = [a for n, a in enumerate(ids) if n % 50 == 7]
        for start in range(0, len(extended), 10_000):
            connection.execute(update(Assignment).where(col(Assignment.id).in_(extended[start:start + 10_000]))
                               .values(extended_to=TODAY + timedelta(days=30), due_on=TODAY + timedelta(days=30)))
    engine.dispose()


def timed_export(engine: Engine, runs: int, **filters: str) -> tuple[list[float], LedgerFile]:
    """Seconds each of ``runs`` exports took, and the last ledger written."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with Session(engine) as session:
            ledger = ledger_workbook(session, TODAY, **filters)
        times.append(time.perf_counter() - start)
    return times, ledger


def main() -> None:
    parser = argparse.ArgumentParser(description="taskbot export: seconds to write the ledger")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    add_runs_option(parser, 3)
    add_database_options(parser, both=True)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for size in args.sizes:
            with scratch_database("export", backend, args.postgres) as url:
                build_assignments(url, size)
                add_the_years_work(url)
                engine = make_engine(url)
                times, ledger = timed_export(engine, args.runs)
                require(ledger.rows == size, f"the ledger has {ledger.rows} rows for {size} assignments")
                unit_times, unit_ledger = timed_export(engine, args.runs, unit="单位199")
                sheet = load_workbook(io.BytesIO(ledger.content), read_only=True)[LEDGER_SHEET]
                read_back = sum(1 for _ in sheet.iter_rows(min_row=3, values_only=True))
                require(read_back == size, f"openpyxl read {read_back} rows back, not {size}")
                engine.dispose()
                print(f"{backend:<10} {size:>8} assignments ({ledger.tasks} tasks): export "
                      f"{best_median(times, 's', 1, 2)}, {len(ledger.content) / 2**20:.1f} MB; "
                      f"one unit ({unit_ledger.rows} rows) {best_median(unit_times, 's', 1, 2)}", flush=True)
    SQLModel.metadata.clear()


if __name__ == "__main__":
    run(main)
