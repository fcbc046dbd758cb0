"""The web desk's 台账 and 总览 over loopback HTTP at a city's scale: median and p99 per question.

    .venv/bin/python bench/bench_desk.py [--assignments 1000000] [--runs 100] [--proposed-indexes]
                                         [--backend sqlite|postgresql|both] [--postgres URL]

Builds a scratch database with --assignments assignments over assignments/10 tasks and 200 units
(bench/common.py build_assignments), then makes it look like a year under way: a share done, a
share waiting for verification, seven categories, a group of 13 units and ten work teams. The desk
is served by its own aiohttp app on a free port, as ``taskbot run`` serves it; an office member's
session is made through bot/web/auth.py (a login link redeemed) and its cookie sent with every
request over one kept-alive connection, as a browser does.

The ledger is asked with several filter combinations, first pages and deep ones; each answer's
"共 N 行" is checked against a count read directly from the tables: a fast wrong answer is no figure.
Then the overview, and its chart (first drawing, then as kept for the day).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from common import (
    NOW,
    SH,
    TODAY,
    add_database_options,
    add_group,
    add_runs_option,
    best_median,
    build_assignments,
    postgres_reachable,
    require,
    run,
    scratch_database,
)
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.config import WebSettings
from bot.context import BotContext
from bot.web.auth import cookie_value, create_login, redeem_login, signing_key
from bot.web.desk import Desk, start_desk, stop_desk
from tasks.clock import FixedClock
from tasks.db import make_engine, transaction
from tasks.models import Member, Plan, Role, Unit, WorkTeam, WorkTeamLead

WARM_UP = 3
GROUP, GROUP_SIZE = "压测镇街", 13
TEAMS = 10
COUNT = re.compile(r"共 (\d+) 行")
# An index the ledger might gain from, not in the schema: --proposed-indexes adds it to the scratch
# database, to measure with and without. It covers a task's assignments by status. (Migration 0014
# made the two this bench showed worth their cost at import: a unit's rows in task order, a
# plan's tasks by category.)
PROPOSED_INDEXES = (
    "CREATE INDEX ix_assignment_task_status ON assignment (task_id, status)",
)


# --- the data set: a year under way -------------------------------------------------------------------

def under_way(engine: Engine) -> None:
    """A share of the duties done or waiting for verification, categories, a group and work teams."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE assignment SET status = 'done' WHERE id % 5 = 0"))
        connection.execute(text("UPDATE assignment SET status = 'reported' WHERE id % 17 = 0 AND status = 'open'"))
        connection.execute(text("UPDATE task SET category = '类别' || CAST(id % 7 AS VARCHAR(4))"))
    add_group(engine, GROUP, GROUP_SIZE)
    with transaction(engine) as session:
        plan = session.exec(select(Plan)).one()
        units = session.exec(select(Unit.id).where(Unit.kind != "group").order_by(Unit.id)).all()
        for n in range(TEAMS):
            team = WorkTeam(plan_id=plan.id, ref=f"team{n}", number=str(n + 1), name=f"压测{n + 1}专班")
            session.add(team)
            session.flush()
            # Three lead units each, as a work team has a few.
            session.add_all(WorkTeamLead(team_id=team.id, unit_id=units[(n * 3 + k) % len(units)], position=k)
                            for k in range(3))
    with engine.begin() as connection:  # the planner's statistics, as after taskbot import
        connection.execute(text("ANALYZE"))


def office_cookie(engine: Engine, clock: FixedClock, key: bytes) -> str:
    """An office member's desk session, made as the login link from chat makes one."""
    with transaction(engine) as session:
        member = Member(user_id=str(99_001), address=str(99_001), name="压测办公室", role=Role.OFFICE, created_at=NOW)
        session.add(member)
        session.flush()
        token = create_login(session, clock, member)
    with transaction(engine) as session:
        secret = redeem_login(session, clock, token, hours=12)
    return cookie_value(key, secret)


# --- the desk, served on its own loop -----------------------------------------------------------------

@contextmanager
def serving(engine: Engine, clock: FixedClock) -> Iterator[tuple[Desk, int]]:
    ctx = BotContext(engine, clock, SH, "区", paced=False)
    desk = Desk(ctx, WebSettings(port=0))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner: list[Any] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner.append(loop.run_until_complete(start_desk(desk, any_free_port=True)))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="desk", daemon=True)
    thread.start()
    require(started.wait(60), "the desk did not start")
    port = int(ctx.desk_url.rstrip("/").rsplit(":", 1)[1])
    try:
        yield desk, port
    finally:
        asyncio.run_coroutine_threadsafe(stop_desk(runner[0]), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()


class Browser:
    """One kept-alive connection with the session's cookie."""

    def __init__(self, port: int, cookie: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = cookie

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path, headers={"Cookie": f"taskbot_desk={self.cookie}"})
        response = self.connection.getresponse()
        return response.status, response.read()

    def timed(self, path: str, runs: int) -> tuple[list[float], bytes]:
        body = b""
        for _ in range(WARM_UP):
            status, body = self.get(path)
            require(status == 200, f"{path}: HTTP {status}: {body[:300]!r}")
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            status, body = self.get(path)
            samples.append(time.perf_counter() - start)
            require(status == 200, f"{path}: HTTP {status}")
        return samples, body


# --- the questions, and what the database says their answers must count -------------------------------

@dataclass(frozen=True)
class Question:
    label: str
    params: dict[str, Any]
    where: str  # the rows it must count, in SQL over assignment a and task t

    @property
    def path(self) -> str:
        return "/ledger" + (f"?{urlencode(self.params)}" if self.params else "")


def questions(engine: Engine, total: int) -> list[Question]:
    with engine.connect() as connection:
        unit = connection.execute(text("SELECT min(id) FROM unit WHERE kind != 'group'")).scalar_one()
        group = connection.execute(text(f"SELECT id FROM unit WHERE name = '{GROUP}'")).scalar_one()
        team = connection.execute(text("SELECT min(id) FROM workteam")).scalar_one()
    members = f"(SELECT member_id FROM groupmember WHERE group_id = {group})"
    leads = f"(SELECT unit_id FROM workteamlead WHERE team_id = {team})"
    today = f"'{TODAY.isoformat()}'"
    soon = f"'{(TODAY + timedelta(days=30)).isoformat()}'"
    is_open = "a.status IN ('open', 'reported')"
    unit_rows = total // 200
    return [
        Question("all, page 1", {}, "TRUE"),
        Question("all, page 2000 (deep)", {"page": 2000}, "TRUE"),
        Question("one unit, page 1", {"unit": unit}, f"a.unit_id = {unit}"),
        Question("one unit, last page", {"unit": unit, "page": max(1, unit_rows // 50)}, f"a.unit_id = {unit}"),
        Question("group of 13, overdue, page 3", {"unit": group, "overdue": 1, "page": 3},
                 f"a.unit_id IN {members} AND {is_open} AND a.due_on < {today}"),
        Question("team, 未办结, page 2", {"team": team, "status": "open", "page": 2},
                 f"a.unit_id IN {leads} AND a.status = 'open'"),
        Question("overdue, by days overdue, page 1", {"overdue": 1, "sort": "late"},
                 f"{is_open} AND a.due_on < {today}"),
        Question("due within 30 days, by deadline, page 100", {"within": 30, "sort": "deadline", "page": 100},
                 f"{is_open} AND a.due_on >= {today} AND a.due_on <= {soon}"),
        Question("category, page 50", {"category": "类别3", "page": 50}, "(t.category = '类别3' OR t.topic = '类别3')"),
        Question("search 任务1234", {"q": "任务1234"}, "t.text LIKE '%任务1234%'"),
        Question("unit and overdue, by unit, page 1", {"unit": unit, "overdue": 1, "sort": "unit"},
                 f"a.unit_id = {unit} AND {is_open} AND a.due_on < {today}"),
    ]


def expected_count(engine: Engine, where: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM assignment a JOIN task t ON t.id = a.task_id "
            f"WHERE a.status <> 'withdrawn' AND {where.replace('TRUE', '1 = 1')}")).scalar_one())


def bench(backend: str, admin_url: str, size: int, runs: int, proposed: bool) -> None:
    with scratch_database("desk", backend, admin_url) as url:
        started = time.perf_counter()
        build_assignments(url, size)
        engine = make_engine(url)
        under_way(engine)
        if proposed:
            with engine.begin() as connection:
                for statement in (*PROPOSED_INDEXES, "ANALYZE"):
                    connection.execute(text(statement))
        print(f"\n{backend}: {size:,} assignments over {size // 10:,} tasks, built in "
              f"{time.perf_counter() - started:.0f} s{', with the proposed indexes' if proposed else ''}")
        clock = FixedClock(NOW)
        with serving(engine, clock) as (desk, port):
            with transaction(engine) as session:
                key = signing_key(session, clock, "")
            require(key == desk.key, "the bench's cookie key is not the desk's")
            browser = Browser(port, office_cookie(engine, clock, key))
            ledger: list[float] = []
            for question in questions(engine, size):
                samples, body = browser.timed(question.path, runs)
                found = COUNT.search(body.decode())
                require(found is not None, f"{question.label}: no count on the page")
                assert found is not None
                wanted = expected_count(engine, question.where)
                require(int(found.group(1)) == wanted, f"{question.label}: the page says {found.group(1)}, "
                                                       f"the tables {wanted}")
                require(wanted == 0 or b'data-assignment="' in body, f"{question.label}: no rows shown")
                ledger += samples
                print(f"  台账 {question.label} ({wanted:,} rows): {best_median(samples, 'ms', 1000, 1, p99=True)}")
            print(f"  台账, all questions together: {best_median(ledger, 'ms', 1000, 1, p99=True)}")
            samples, body = browser.timed("/overview", runs)
            require("完成率".encode() in body, "the overview has no rate")
            print(f"  总览: {best_median(samples, 'ms', 1000, 1, p99=True)}")
            start = time.perf_counter()
            status, png = browser.get("/overview/chart.png")
            first = time.perf_counter() - start
            require(status == 200 and png.startswith(b"\x89PNG"), f"chart: HTTP {status}")
            samples, _png = browser.timed("/overview/chart.png", runs)
            print(f"  总览 chart: first drawing {first * 1000:.0f} ms; kept for the day: "
                  f"{best_median(samples, 'ms', 1000, 1, p99=True)}")
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    add_runs_option(parser, 100)
    add_database_options(parser, both=True)
    parser.add_argument("--proposed-indexes", action="store_true", help="add PROPOSED_INDEXES first")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_reachable(args.postgres):
            print(f"PostgreSQL at {args.postgres} is not reachable: skipped")
            continue
        bench(backend, args.postgres, args.assignments, args.runs, args.proposed_indexes)
    return 0


if __name__ == "__main__":
    run(main)
