"""What the benches share: timing and how it is reported, a scratch database of each bench's own,
the synthetic year's data set, the bot started as its own process and people talking to it.

The few calls into interfaces that are still moving — the `taskbot` command line, the outbox's
``enqueue`` and the delivery window's default in the settings — are made here and nowhere else in
``bench/``, so that a change to them is mended in one place.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bot.config import DEFAULT_IN_FLIGHT
from bot.sandbox.server import Person, SandboxServer
from tasks.bulk import load_rows
from tasks.clock import Clock, FixedClock
from tasks.db import create_schema, libpq_url, make_engine, transaction
from tasks.events import Actor
from tasks.models import Assignment, GroupMember, Member, Outbox, Plan, Role, Task, Unit
from tasks.notifications import DutyStep, MemberUnreachable, NotificationKind, Urge, UrgedTask
from tasks.outbox import enqueue
from tasks.plan.importer import refresh_statistics
from tasks.work.members import create_invite

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 10, 15, 1, 30, tzinfo=UTC)  # 09:30 Beijing on a working day
TODAY = NOW.astimezone(SH).date()
UNITS = 200
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TASKBOT = Path(sys.executable).with_name("taskbot")
CHUNK = 20_000


# --- running a bench -----------------------------------------------------------------------------

def run(main: Callable[[], int | None]) -> None:
    """Run a bench's ``main``: a SIGTERM unwinds like Ctrl-C, so every scratch database and child
    process is removed on the way out; the exit code is ``main``'s (0 when it returns None)."""
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        code = main() or 0
    except KeyboardInterrupt:
        print("interrupted: scratch databases removed", file=sys.stderr)
        code = 130
    sys.exit(code)


class BenchError(AssertionError):
    """What the bench saw is not what the database says it should be: its figures mean nothing."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)


# --- timing and its report -----------------------------------------------------------------------

def timed(work: Callable[[], Any]) -> float:
    """Seconds ``work`` took."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def repeated(runs: int, work: Callable[[], Any]) -> list[float]:
    """Seconds each of ``runs`` calls of ``work`` took."""
    return [timed(work) for _ in range(runs)]


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest sample that ``share`` of the samples do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def best_median(samples: Sequence[float], unit: str = "s", scale: float = 1.0, digits: int = 3, *,
                higher_is_better: bool = False, p99: bool = False) -> str:
    """"best X · median Y (N runs)": the best alone flatters, the median says what to expect.
    ``scale`` converts the samples (seconds) to ``unit``; a rate's best is its highest."""
    best = max(samples) if higher_is_better else min(samples)
    median = statistics.median(samples)
    figures = [f"best {best * scale:.{digits}f} {unit}", f"median {median * scale:.{digits}f} {unit}"]
    if p99:
        worst = percentile(samples, 0.01) if higher_is_better else percentile(samples, 0.99)
        figures.append(f"p99 {worst * scale:.{digits}f} {unit}")
    runs = len(samples)
    return " · ".join(figures) + f" ({runs} run{'s' if runs != 1 else ''})"


def add_runs_option(parser: argparse.ArgumentParser, default: int, what: str = "times each measurement is taken"
                    ) -> None:
    parser.add_argument("--runs", type=int, default=default, help=f"{what} (default {default})")


def add_in_flight_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in-flight", type=int, default=DEFAULT_IN_FLIGHT,
                        help=f"notifications on the wire at once ([delivery] in_flight, default {DEFAULT_IN_FLIGHT})")


# --- a scratch database of the bench's own ----------------------------------------------------------

def add_database_options(parser: argparse.ArgumentParser, *, both: bool = False) -> None:
    choices = ["sqlite", "postgresql", *(["both"] if both else [])]
    parser.add_argument("--backend", choices=choices, default="sqlite")
    parser.add_argument("--postgres", default=ADMIN_URL,
                        help="a PostgreSQL server's maintenance database: the bench creates its own beside it")


def postgres_reachable(admin_url: str) -> bool:
    try:
        psycopg.connect(libpq_url(admin_url), connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@contextmanager
def scratch_database(bench: str, backend: str, admin_url: str = ADMIN_URL) -> Iterator[str]:
    """The URL of an empty database only this bench run uses, removed when the block ends however
    it ends (an error, Ctrl-C, SIGTERM under ``run``): a temporary SQLite file, or
    ``taskbot_bench_<bench>_<pid>`` created on the PostgreSQL server of ``admin_url``."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"taskbot-bench-{bench}-"))
        try:
            yield f"sqlite:///{folder / f'{bench}.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"taskbot_bench_{bench}_{os.getpid()}"
    admin = libpq_url(admin_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        # The name carries this process's id, so a database of that name is a leftover of a dead run.
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the synthetic year's data set (bench_planner's, used by the chat and year benches too) ------------

def build_assignments(url: str, size: int) -> None:
    """A plan of ``size`` open assignments over size/10 tasks and UNITS units (deadlines spread
    from June over 200 days, none due for a check), one bound member per unit."""
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
        session.add_all(Member(user_id=str(10_000 + n), address=str(10_000 + n), name=f"m{n}", role="member",
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
                rows.append({"task_id": first_task + n // 10, "unit_id": unit_ids[(n * 7 + rng.randrange(3)) % UNITS],
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


def add_group(engine: Engine, name: str, size: int) -> list[str]:
    """A group unit over the first ``size`` units, as the seed directory's 各镇街 stands for 13;
    returns its members' names."""
    with transaction(engine) as session:
        units = session.exec(select(Unit).order_by(Unit.id).limit(size)).all()
        group = Unit(name=name, kind="group", created_at=units[0].created_at)
        session.add(group)
        session.flush()
        session.add_all(GroupMember(group_id=group.id, member_id=unit.id, position=n) for n, unit in enumerate(units))
        return [unit.name for unit in units]


# --- notifications the benches queue -------------------------------------------------------------------

NOTICE_MARK = re.compile(r"压测第(\d+)条")


def queue_notice(session: Session, clock: Clock, member: Member, number: int) -> None:
    """Queue notification ``number`` for ``member``: one short page whose text carries its number."""
    enqueue(session, clock, member, NotificationKind.MEMBER_UNREACHABLE,
            MemberUnreachable(member=f"压测第{number}条", unit="", role=Role.OFFICE), f"bench:{number}")


def notice_number(message: dict[str, Any]) -> int | None:
    """The number of a queued notice in a delivered message (None: not one of ours)."""
    found = NOTICE_MARK.search(message.get("text") or "")
    return int(found.group(1)) if found else None


def queued_notices(engine: Engine) -> dict[int, tuple[int, str]]:
    """The notices in the outbox: number -> (chat, status)."""
    with engine.connect() as connection:
        rows = connection.execute(select(Outbox.address, Outbox.status, Outbox.payload)
                                  .where(Outbox.kind == NotificationKind.MEMBER_UNREACHABLE)).all()
    notices = {}
    for address, status, payload in rows:
        found = NOTICE_MARK.search(str(payload.get("member", "")))
        if found:
            notices[int(found.group(1))] = (int(address), str(status))
    return notices


def queue_duty_notice(session: Session, clock: Clock, member: Member, number: int, unit: str) -> None:
    """Queue notice ``number`` for ``member`` as a unit hears of its work: an urge (even numbers) or
    a reminder that a deadline nears (odd), the task's text carrying the number."""
    text = f"压测第{number}条 老旧小区改造进度"
    if number % 2 == 0:
        enqueue(session, clock, member, NotificationKind.URGE,
                Urge(urger="区督办办", note="请本周内报送进展", unit=unit,
                     tasks=[UrgedTask(task_id=number + 1, text=text, due_on=TODAY + timedelta(days=5))]),
                f"bench-urge:{number}")
    else:
        enqueue(session, clock, member, NotificationKind.REMINDER,
                DutyStep(key=f"bench:{number}", task_id=number + 1, text=text, unit=unit,
                         due_on=TODAY + timedelta(days=3), step="d3", days=-3, unit_id=member.unit_id),
                f"bench-reminder:{number}")


def number_in(text: str) -> int | None:
    """The number of a queued notice in anything that carries its text (None: not one of ours)."""
    found = NOTICE_MARK.search(text)
    return int(found.group(1)) if found else None


def queued_duty_notices(engine: Engine) -> dict[int, tuple[str, str]]:
    """The urges and reminders ``queue_duty_notice`` queued: number -> (address, status)."""
    with engine.connect() as connection:
        rows = connection.execute(select(Outbox.address, Outbox.status, Outbox.payload).where(
            Outbox.kind.in_([NotificationKind.URGE, NotificationKind.REMINDER]))).all()  # type: ignore[attr-defined]
    notices = {}
    for address, status, payload in rows:
        number = number_in(json.dumps(payload, ensure_ascii=False))
        if number is not None:
            notices[number] = (str(address), str(status))
    return notices


# --- the bot as its own process, and people talking to it ------------------------------------------------

def taskbot(*arguments: str) -> list[str]:
    """The `taskbot` command line, as an office runs it."""
    return [str(TASKBOT), *arguments]


@contextmanager
def running_bot(url: str, server: SandboxServer, now: datetime = NOW) -> Iterator[subprocess.Popen[bytes]]:
    """`taskbot run` against the local Bot API server, as a deployment runs it; stopped on the way out."""
    # A session of its own: Ctrl-C at the bench's terminal reaches the bench, which stops the bot once.
    bot = subprocess.Popen(taskbot("--database-url", url, "--now", now.isoformat(), "run", "--base-url",
                                   server.base_url), env={**os.environ, "TASKBOT_TOKEN": server.token},
                           start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not server.state.commands:  # the bot sets its command menu once it is up
            if time.monotonic() > deadline or bot.poll() is not None:
                raise RuntimeError("the bot did not start")
            time.sleep(0.1)
        yield bot
    finally:
        bot.terminate()
        try:
            bot.wait(30)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()


def say(server: SandboxServer, person: Person, text: str, timeout: float = 60) -> dict[str, Any]:
    """Send ``text`` as ``person``; the bot's first message back."""
    before = len(server.messages(person.id))
    server.send_text(person, text)
    return server.wait_for(person.id, after=before, timeout=timeout)[0]


PAGE_MARK = re.compile(r"（(\d+)/(\d+)）\s*$")


def ask(server: SandboxServer, person: Person, text: str, timeout: float = 60) -> tuple[list[str], float, float]:
    """Send ``text`` as ``person`` and wait for the whole answer, however many pages it has
    ("（n/N）" ends each page of a long one): (the pages' texts, seconds to the first, to the last)."""
    before = len(server.messages(person.id))
    start = time.perf_counter()
    server.send_text(person, text)
    first = server.wait_for(person.id, after=before, timeout=timeout)[0]
    first_at = time.perf_counter() - start
    marked = PAGE_MARK.search(first.get("text") or "")
    pages = int(marked.group(2)) if marked else 1
    answer = server.wait_for(person.id, after=before, count=pages, timeout=timeout) if pages > 1 else [first]
    last_at = time.perf_counter() - start
    texts = [message.get("text") or "" for message in answer]
    last_mark = PAGE_MARK.search(texts[-1])
    require(pages == 1 or (last_mark is not None and last_mark.group(1) == last_mark.group(2) == str(pages)),
            f"{text}: the last of {pages} pages is not marked （{pages}/{pages}）: {texts[-1][-40:]!r}")
    return texts, first_at, last_at


def join(server: SandboxServer, engine: Engine, user_id: int, role: Role, unit_name: str | None = None) -> Person:
    """A person bound through an invite, as the office brings people in."""
    with transaction(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == unit_name)).one() if unit_name else None
        code = create_invite(session, FixedClock(NOW), Actor("bench", "cli"), role, unit).code
    person = server.person(user_id, f"{role}{user_id}")
    reply = say(server, person, f"/start {code}")
    require("绑定成功" in reply["text"], f"/start did not bind {role}: {reply['text']}")
    return person
