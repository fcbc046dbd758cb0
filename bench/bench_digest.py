"""The weekly digest with its chart at a million assignments: what leadership waits for each Monday.

    .venv/bin/python bench/bench_digest.py [--assignments 1000000] [--runs 5]
                                           [--backend sqlite|postgresql|both] [--postgres URL]

Builds bench_planner's synthetic plan (--assignments over a tenth as many tasks and 200 units), then
makes it look half a year old: 40% of the duties done and 10% waiting for verification, 12 work
teams leading the units, progress reports from three units in four over the last weeks, a few
thousand verifications this week, and an outbox of half a year: a digest each week to 20 office
members and leaders among 300,000 other notifications. Then times, on one engine as the running
worker has it, the digest computed (weekly_digest, as the planner queues it), read as its payload
and drawn as the chart (PNG); the first run, which also loads the font, is printed apart. The
target: digest with chart in under 2 s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, timedelta

from common import (
    NOW,
    SH,
    TODAY,
    UNITS,
    add_database_options,
    add_runs_option,
    best_median,
    build_assignments,
    require,
    run,
    scratch_database,
)
from sqlalchemy import Engine, func, insert, select, text, update
from sqlmodel import Session, SQLModel, col

from tasks.bulk import load_rows
from tasks.clock.digest import weekly_digest
from tasks.clock.digest_chart import digest_chart
from tasks.clock.policy import Policy
from tasks.db import make_engine
from tasks.models import Assignment, Event, Outbox, Plan, Report, Unit, WorkTeam, WorkTeamLead
from tasks.notifications import Digest
from tasks.plan.importer import refresh_statistics

TEAMS = 12
RECIPIENTS = 20
WEEKS = 26
OTHER_NOTIFICATIONS = 300_000
REPORTS = 50_000
VERIFIED_THIS_WEEK = 3_000
CHUNK = 20_000


def half_a_year_on(engine: Engine, size: int) -> None:
    """The synthetic plan as it stands after half a year of work (see the module's description)."""
    rng = random.Random(size)
    created = NOW - timedelta(days=120)
    with engine.begin() as connection:
        # The tally's triggers count every change, as they do when the office verifies in chat.
        connection.execute(update(Assignment).where(col(Assignment.id) % 10 < 4).values(status="done"))
        connection.execute(update(Assignment).where(col(Assignment.id) % 10 == 4).values(status="reported"))
        plan_id = connection.execute(select(Plan.id)).scalar_one()
        unit_ids = list(connection.execute(select(Unit.id).order_by(Unit.id)).scalars())
        connection.execute(insert(WorkTeam), [{"plan_id": plan_id, "ref": f"team{n}", "number": str(n + 1),
                                               "name": f"第{n + 1}工作专班", "status": "active"} for n in range(TEAMS)])
        team_ids = list(connection.execute(select(WorkTeam.id).order_by(WorkTeam.id)).scalars())
        connection.execute(insert(WorkTeamLead), [{"team_id": team_ids[n % TEAMS], "unit_id": unit, "position": 0}
                                                  for n, unit in enumerate(unit_ids)])
        highest = connection.execute(select(func.max(Assignment.id))).scalar_one()
        reporting_units = set(unit_ids[: UNITS * 3 // 4])
        reported = [a for a, u in connection.execute(
            select(Assignment.id, Assignment.unit_id).where(col(Assignment.id) % 97 == 0)) if u in reporting_units]
        load_rows(connection, Report, [
            {"assignment_id": reported[n % len(reported)], "kind": "progress", "text": "按计划推进", "evidence": [],
             "author": "bench", "review_note": "", "created_at": NOW - timedelta(days=rng.randrange(40))}
            for n in range(REPORTS)])
        verified = [a for a in range(1, highest + 1, max(1, highest // VERIFIED_THIS_WEEK)) if a % 10 < 4]
        load_rows(connection, Event, [
            {"at": NOW - timedelta(days=rng.randrange(7)), "actor": "督办办", "source": "chat",
             "action": "assignment.verified", "entity": "assignment", "entity_id": a, "detail": {}} for a in verified])
    with Session(engine) as session:
        sample = weekly_digest(session, TODAY, Policy(timezone=SH))
    with engine.begin() as connection:
        for start in range(0, OTHER_NOTIFICATIONS, CHUNK):
            load_rows(connection, Outbox, [
                {"channel": "telegram", "address": str(10_000 + n % UNITS), "member_id": None, "kind": "duties_due",
                 "payload": {"items": [{"task_id": n, "text": f"任务{n}", "unit": "单位", "due_on": "2021-09-30"}]},
                 "dedupe_key": f"bench:{n}", "status": "sent", "attempts": 1, "last_error": "",
                 "next_attempt_at": created + timedelta(minutes=n), "created_at": created + timedelta(minutes=n)}
                for n in range(start, min(OTHER_NOTIFICATIONS, start + CHUNK))])
        digests = []
        for weeks in range(WEEKS, 0, -1):
            sent_at = NOW - timedelta(weeks=weeks)
            week_of = sent_at.astimezone(SH).date()
            figures = {"overdue": 10 * (WEEKS - weeks), "rate": round(0.4 * (1 - weeks / 60), 4)}
            payload = {**sample, "week_of": week_of.isoformat(), "total": {**sample["total"], **figures}}
            year, week, _ = week_of.isocalendar()
            digests += [{"channel": "telegram", "address": str(chat), "member_id": None, "kind": "digest",
                         "payload": payload, "dedupe_key": f"digest:{year}W{week:02d}:{chat}", "status": "sent",
                         "attempts": 1, "last_error": "", "next_attempt_at": sent_at, "created_at": sent_at}
                        for chat in range(9_000, 9_000 + RECIPIENTS)]
        load_rows(connection, Outbox, digests)
    refresh_statistics(engine)


def digest_with_chart(engine: Engine) -> tuple[float, float, int, Digest]:
    """One digest as the planner computes it, and its chart: (seconds for each, the PNG's bytes, the digest)."""
    start = time.perf_counter()
    with Session(engine) as session:
        digest = Digest.model_validate(weekly_digest(session, TODAY, Policy(timezone=SH)))
    computed = time.perf_counter()
    png = digest_chart(digest)
    return computed - start, time.perf_counter() - computed, len(png), digest


def explain(engine: Engine) -> None:
    """The plan of the trend's query, to see that it reads the outbox's index rather than the table."""
    since = (NOW - timedelta(weeks=WEEKS)).astimezone(UTC)
    with engine.connect() as connection:
        prefix = "EXPLAIN QUERY PLAN" if connection.dialect.name == "sqlite" else "EXPLAIN"
        query = select(Outbox.payload).where(Outbox.kind == "digest", col(Outbox.created_at) >= since)
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        for row in connection.execute(text(f"{prefix} {compiled}")):
            print(f"    {' '.join(str(v) for v in row)}")


def main() -> None:
    parser = argparse.ArgumentParser(description="weekly digest and its chart at a million assignments")
    parser.add_argument("--assignments", type=int, default=1_000_000)
    add_runs_option(parser, 5, "digests timed after the first")
    add_database_options(parser, both=True)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with scratch_database("digest", backend, args.postgres) as url:
            started = time.perf_counter()
            build_assignments(url, args.assignments)
            engine = make_engine(url)
            half_a_year_on(engine, args.assignments)
            print(f"{backend}: {args.assignments} assignments, built in {time.perf_counter() - started:.0f} s",
                  flush=True)
            first = digest_with_chart(engine)
            runs = [digest_with_chart(engine) for _ in range(args.runs)]
            digest = runs[-1][3]
            require(digest.total.total == args.assignments, f"the digest counts {digest.total.total} duties")
            require(len(digest.teams) == TEAMS, f"{len(digest.teams)} teams in the digest")
            require(len(digest.trend) == WEEKS + 1, f"{len(digest.trend)} weeks in the trend")
            print(f"  digest: {digest.total.done} done ({digest.total.rate:.0%}), {digest.total.overdue} overdue, "
                  f"{len(digest.newly_done)} newly done, {len(digest.silent_units)} silent units, "
                  f"{len(digest.trend)} weeks of trend; chart {runs[-1][2] // 1024} KB", flush=True)
            print(f"  first run (loads the font): digest {first[0]:.3f} s + chart {first[1]:.3f} s", flush=True)
            print(f"  weekly_digest        {best_median([r[0] for r in runs])}", flush=True)
            print(f"  chart                {best_median([r[1] for r in runs])}", flush=True)
            print(f"  digest with chart    {best_median([r[0] + r[1] for r in runs])}  (target < 2 s)", flush=True)
            print("  the trend's outbox lookup:")
            explain(engine)
            engine.dispose()
    SQLModel.metadata.clear()


if __name__ == "__main__":
    run(main)
