"""Command latency end to end through the local Bot API server, what each answer says, and the bot
process's peak memory.

    .venv/bin/python bench/bench_commands.py [--assignments 1000000] [--runs 300]
                                             [--backend sqlite|postgresql] [--postgres URL]

Builds a scratch database with --assignments open assignments over assignments/10 tasks and starts
the bot as its own process (`taskbot run --base-url` against the local server, as a deployment runs
it). Acting as people through the server, it asks 我的任务 as a unit member, /overdue for the whole
district, /overdue and /unit for a group of 13 units (as 各镇街 stands for 13 towns), /unit for one
unit and /stats as a leader, --runs times each after WARM_UP untimed ones. A long answer comes as
several pages ("（n/N）"): each question is timed to its first page and to its last, the whole answer
(the office's and leadership's answers are one message each, a summary with page buttons).

Every answer is checked against the database, read directly (not through the code that wrote the
answer): a unit's list, its count and the tasks it lists in order; a summary, its count and the
units it names with theirs, most first; /stats's totals and the worst units with their rate and
overdue count. A wrong answer stops the bench with the difference: a fast wrong answer is no
figure. Then it prints the bot process's peak resident memory (VmHWM) and the time to compute the
weekly digest at that size.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common import (
    SH,
    TODAY,
    BenchError,
    add_database_options,
    add_group,
    add_runs_option,
    ask,
    best_median,
    build_assignments,
    join,
    repeated,
    require,
    run,
    running_bot,
    scratch_database,
)
from sqlalchemy import Engine, case, func, select
from sqlmodel import col

from bot.office_lists import PAGE_ITEMS
from bot.phone import SUMMARY_ROWS
from bot.render import LIST_LIMIT
from bot.sandbox.server import Person, SandboxServer
from tasks.clock.digest import weekly_digest
from tasks.clock.policy import Policy
from tasks.db import make_engine, transaction
from tasks.models import OPEN_STATUSES, Assignment, AssignmentStatus, Role, Unit

WARM_UP = 3
# A group of 13 units with duties, as 各镇街 stands for 13 towns; not named 各镇街, which the bot's
# start-up merges with the seed directory's group of that name (13 towns more, without duties).
GROUP, GROUP_SIZE = "压测镇街", 13
DUTY_LINE = re.compile(r"^[🔴🟡🟢] (\d+) (?:(\S+) · )?", re.MULTILINE)
SUMMARY = re.compile(r"共 (\d+) 项，涉及 (\d+) 个单位")
SUMMARY_ROW = re.compile(r"^[🔴🟡🟢] (单位\d+) (\d+)项", re.MULTILINE)
TOTALS = re.compile(r"合计 (\d+) 项分工，已办结 (\d+)（\d+%）\n待审核 (\d+) · 逾期 (\d+)")
STATS_ROW = re.compile(r"^[🔴🟡🟢] (单位\d+) 办结(\d+)%(?: 逾期(\d+))?$", re.MULTILINE)


# --- what the database says each answer must hold -----------------------------------------------------

@dataclass(frozen=True)
class Listing:
    """Open duties as an answer lists them: how many in all, and the first LIST_LIMIT."""

    total: int
    first: list[tuple[int, str, date | None]]  # (task, unit name, deadline), in the answer's order


def open_filters(units: list[str] | None, before: date | None) -> list[Any]:
    """Open or reported assignments of ``units`` (None: all) due before ``before`` (None: any)."""
    filters = [col(Assignment.status).in_(OPEN_STATUSES)]
    if units is not None:
        filters.append(col(Unit.name).in_(units))
    if before is not None:
        filters.append(col(Assignment.due_on) < before)
    return filters


def open_listing(engine: Engine, units: list[str] | None, before: date | None, limit: int = LIST_LIMIT) -> Listing:
    """The open_filters assignments, nearest deadline first (none last), then by task and position,
    as the office reads them."""
    filters = open_filters(units, before)
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(Assignment).join(Unit).where(*filters)
                                   ).scalar_one()
        rows = connection.execute(
            select(Assignment.task_id, Unit.name, Assignment.due_on).join(Unit).where(*filters)
            .order_by(col(Assignment.due_on).is_(None), col(Assignment.due_on), col(Assignment.task_id),
                      col(Assignment.position))
            .limit(limit)).all()
    return Listing(total, [tuple(row) for row in rows])


def unit_shares(engine: Engine, units: list[str] | None, before: date | None) -> list[tuple[str, int]]:
    """(unit, open duties due before ``before``) most first, then the earliest deadline, then the name:
    the rows of a summary."""
    filters = open_filters(units, before)
    with engine.connect() as connection:
        rows = connection.execute(select(Unit.name, func.count(), func.min(Assignment.due_on)).join(Unit)
                                  .where(*filters).group_by(Unit.name)).all()
    ordered = sorted(rows, key=lambda row: (-row[1], row[2] or date.max, row[0]))
    return [(name, int(count)) for name, count, _oldest in ordered]


def unit_tallies(engine: Engine) -> tuple[tuple[int, int, int, int], list[tuple[str, int, int]]]:
    """(total, done, reported, overdue) over every assignment, and (unit, rate %, overdue) by unit, worst
    first: most overdue, lowest rate, most due within a week or waiting, then the name."""
    is_open = col(Assignment.status).in_(OPEN_STATUSES)
    overdue = case((is_open & (col(Assignment.due_on) < TODAY), 1), else_=0)
    soon = case((is_open & (col(Assignment.due_on) >= TODAY) & (
        (Assignment.status == AssignmentStatus.REPORTED) | (col(Assignment.due_on) <= TODAY + timedelta(days=7))), 1),
        else_=0)
    done = case((Assignment.status == AssignmentStatus.DONE, 1), else_=0)
    reported = case((Assignment.status == AssignmentStatus.REPORTED, 1), else_=0)
    live = Assignment.status != AssignmentStatus.WITHDRAWN
    with engine.connect() as connection:
        rows = connection.execute(select(Unit.name, func.count(), func.sum(done), func.sum(reported),
                                         func.sum(overdue), func.sum(soon)).join(Unit).where(live)
                                  .group_by(Unit.name)).all()
    worst = sorted(rows, key=lambda r: (-int(r[4]), int(r[2]) / int(r[1]), -int(r[5]), r[0]))
    totals = tuple(sum(int(row[i]) for row in rows) for i in (1, 2, 3, 4))
    return totals, [(name, round(100 * int(d) / int(t)), int(late)) for name, t, d, _r, late, _s in worst]  # type: ignore[return-value]


# --- reading an answer and comparing ------------------------------------------------------------------------

def title_count(text: str, title: str) -> int:
    found = re.search(re.escape(title) + r"（(\d+) 项）", text)
    require(found is not None, f"the answer has no title “{title}（N 项）”: {text[:120]!r}")
    assert found is not None
    return int(found.group(1))


def same(question: str, what: str, got: object, expected: object) -> None:
    require(got == expected, f"{question}: {what} is {got!r}, the database says {expected!r}")


def check_page(question: str, title: str, expected: Listing) -> Callable[[str], None]:
    """One unit's first page of duties: its title, its count, and the tasks listed in order."""
    def check(text: str) -> None:
        require(text.startswith(title + "\n"), f"{question}: the answer is not titled {title!r}: {text[:80]!r}")
        found = re.search(r"共 (\d+) 项", text)
        same(question, "the count", int(found[1]) if found else None, expected.total)
        same(question, "the tasks listed", [int(task) for task, _unit in DUTY_LINE.findall(text)],
             [task for task, _unit, _due in expected.first])
    return check


def check_duty_list(question: str, title: str, expected: Listing, with_units: bool) -> Callable[[str], None]:
    """A 我的任务 / /unit answer: its count, and its lines' tasks (and units, for a group) in order."""
    def check(text: str) -> None:
        same(question, "the count", title_count(text, title), expected.total)
        lines = [(int(task), unit) for task, unit in DUTY_LINE.findall(text)]
        same(question, "the tasks listed", lines,
             [(task, unit if with_units else "") for task, unit, _due in expected.first])
    return check


def check_summary(question: str, title: str, expected: list[tuple[str, int]]) -> Callable[[str], None]:
    """A summary by unit (/overdue, a group's /unit): its title, its count, and the units it names
    with their counts, most first."""
    def check(text: str) -> None:
        require(text.startswith(title + "\n"), f"{question}: the answer is not titled {title!r}: {text[:80]!r}")
        found = SUMMARY.search(text)
        require(found is not None, f"{question}: no 共 N 项，涉及 M 个单位 in {text[:160]!r}")
        assert found is not None
        same(question, "(duties, units)", (int(found[1]), int(found[2])),
             (sum(count for _unit, count in expected), len(expected)))
        rows = [(unit, int(count)) for unit, count in SUMMARY_ROW.findall(text)]
        same(question, "the units named", rows, expected[:len(rows)])
        require(len(rows) == min(len(expected), SUMMARY_ROWS), f"{question}: {len(rows)} units named")
    return check


def check_stats(engine: Engine) -> Callable[[str], None]:
    """A /stats answer: the totals, and every unit's row (its duties, done, overdue)."""
    totals, by_unit = unit_tallies(engine)

    def check(text: str) -> None:
        found = TOTALS.search(text)
        require(found is not None, f"/stats: no totals line in {text[:200]!r}")
        assert found is not None
        same("/stats", "合计 (total, done, reported, overdue)", tuple(int(g) for g in found.groups()), totals)
        rows = [(unit, int(rate), int(late or 0)) for unit, rate, late in STATS_ROW.findall(text)]
        same("/stats", "the worst units (rate %, overdue)", rows, by_unit[:len(rows)])
        require(len(rows) == min(len(by_unit), SUMMARY_ROWS), f"/stats: {len(rows)} units named")
    return check


# --- the bench ------------------------------------------------------------------------------------------------

def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_question(server: SandboxServer, person: Person, text: str, runs: int, check: Callable[[str], None]
                  ) -> tuple[int, list[float], list[float]]:
    """(pages in the answer, seconds to the first page, seconds to the last), each answer checked."""
    firsts, lasts, pages = [], [], 0
    for attempt in range(WARM_UP + runs):  # the first questions after start-up read cold pages: not counted
        texts, first, last = ask(server, person, text)
        check("\n".join(texts))
        require(pages in (0, len(texts)), f"{text}: {len(texts)} pages this time, {pages} before")
        pages = len(texts)
        if attempt >= WARM_UP:
            firsts.append(first)
            lasts.append(last)
    return pages, firsts, lasts


def main() -> int:
    parser = argparse.ArgumentParser(description="command latency, what each answer says, the bot's peak memory")
    parser.add_argument("--assignments", type=int, default=1_000_000)
    add_runs_option(parser, 300, "times each question is asked (p99 of 300 is the 297th: 3 samples above it)")
    add_database_options(parser)
    args = parser.parse_args()
    with scratch_database("commands", args.backend, args.postgres) as url:
        server = SandboxServer().start_in_thread()
        try:
            started = time.perf_counter()
            build_assignments(url, args.assignments)
            print(f"{args.backend}: {args.assignments} assignments over {args.assignments // 10} tasks, "
                  f"built in {time.perf_counter() - started:.0f} s", flush=True)
            engine = make_engine(url)
            group_units = add_group(engine, GROUP, GROUP_SIZE)
            group_title = f"{GROUP}（{GROUP_SIZE}个单位）"
            with running_bot(url, server) as bot:
                member = join(server, engine, 1, Role.MEMBER, "单位0")
                office = join(server, engine, 2, Role.OFFICE)
                leader = join(server, engine, 3, Role.LEADER)
                questions = [
                    ("我的任务 (member)", member, "我的任务",
                     check_duty_list("我的任务", "单位0 未办结任务", open_listing(engine, ["单位0"], None), False)),
                    ("/overdue whole district (office)", office, "/overdue",
                     check_summary("/overdue", "逾期未办结", unit_shares(engine, None, TODAY))),
                    (f"/overdue {GROUP}, {GROUP_SIZE} units (office)", office, f"/overdue {GROUP}",
                     check_summary(f"/overdue {GROUP}", f"逾期未办结 · {group_title}",
                                   unit_shares(engine, group_units, TODAY))),
                    (f"/unit {GROUP}, {GROUP_SIZE} units (office)", office, f"/unit {GROUP}",
                     check_summary(f"/unit {GROUP}", f"未办结任务 · {group_title}",
                                   unit_shares(engine, group_units, None))),
                    ("/unit 单位1 (office)", office, "/unit 单位1",
                     check_page("/unit 单位1", "未办结任务 · 单位1",
                                open_listing(engine, ["单位1"], None, PAGE_ITEMS))),
                    ("/stats (leader)", leader, "/stats", check_stats(engine)),
                ]
                for label, person, text, check in questions:
                    pages, firsts, lasts = time_question(server, person, text, args.runs, check)
                    print(f"  {label}: answer checked, {pages} page{'s' if pages > 1 else ''}", flush=True)
                    print(f"    first page {best_median(firsts, 'ms', 1000, 1, p99=True)}", flush=True)
                    if pages > 1:
                        print(f"    last page  {best_median(lasts, 'ms', 1000, 1, p99=True)}", flush=True)
                print(f"  peak resident memory of the bot process: {peak_memory_mb(bot.pid):.0f} MB", flush=True)

            def digest() -> None:
                with transaction(engine) as session:
                    weekly_digest(session, TODAY, Policy(timezone=SH))

            print(f"  weekly digest at this size: {best_median(repeated(3, digest))}")
            engine.dispose()
        except BenchError as error:
            print(f"WRONG ANSWER: {error}", flush=True)
            return 1
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    run(main)
