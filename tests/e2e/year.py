"""The simulated year shared by the year simulation and the kill/restart test: the seed plan with four
people bound, what they do during the year, and the schedule the policy expects, computed here
independently from the official calendar (``chinese_calendar``) and the policy's numbers.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlmodel import Session, col, select

from tasks.clock import FixedClock
from tasks.db import transaction
from tasks.events import Actor
from tasks.models import Assignment, Member, Milestone, Outbox, Role, Task, Unit
from tasks.work.duties import Duty, report_completion, request_extension
from tasks.work.members import RobotBinding, create_invite, keep_robots, redeem_invite
from tasks.work.review import decide_extension, duty_by_assignment, send_back, verify
from tests.factories import seed_plan

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2021, 6, 18, 8, 0, tzinfo=SH)
END = datetime(2022, 1, 31, 18, 0, tzinfo=SH)
UNITS = ("区商务局", "区农业农村局")
PEOPLE = {"区商务局": 1, "区农业农村局": 2, "office": 3, "leader": 4}
ROSE = "project:神农架林区:神农架林区高山玫瑰、奇异莓试种项目"  # 区农业农村局, due 2021-05-31
EXHIBITION = "project:内蒙古武川县:武川县消费扶贫展销服务中心运营项目"  # 区商务局, due 2021-10-31
NEW_ROSE_DATE = date(2021, 10, 11)
SCHEDULED_KINDS = {"reminder", "overdue", "checkin", "reminders_folded", "duties_due", "overdue_office", "overdue_leadership"}  # its d1 reminder falls on Saturday 2021-10-09, an official working day


# --- the expected schedule, computed from the calendar and the policy's numbers ------------------

@cache  # the expected schedule asks about the same days again and again, and each answer is slow
def workday(day: date) -> bool:
    return chinese_calendar.is_workday(day)


def walk(day: date, count: int, step: int) -> date:
    for _ in range(count):
        day += timedelta(days=step)
        while not workday(day):
            day += timedelta(days=step)
    return day


def expected_steps(due: date | None, recurrence: str | None) -> list[tuple[date, str, str, tuple[str, ...]]]:
    found = []
    if due is not None:
        base = due
        while not workday(base):
            base -= timedelta(days=1)
        found += [(walk(base, k, -1), "remind", f"d{k}", ("unit",)) for k in (10, 5, 2, 1, 0)]
        first = walk(due, 1, 1)
        found += [(first, "overdue", "unit", ("unit",)), (walk(first, 3, 1), "overdue", "office", ("office",)),
                  (walk(first, 7, 1), "overdue", "leadership", ("leadership",))]
        n = 1
        while (day := walk(first, 7 + 5 * n, 1)) <= END.date():
            found.append((day, "overdue", f"repeat{n}", ("unit", "leadership")))
            n += 1
    months = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}.get(
        recurrence or ("quarterly" if due is None else ""))
    if months:
        for year in (2021, 2022):
            for first_month in range(1, 13, months):
                end_month = first_month + months - 1
                end = date(year + end_month // 13, (end_month - 1) % 12 + 1, 1) + timedelta(days=32)
                last = end.replace(day=1) - timedelta(days=1)
                while not workday(last):
                    last -= timedelta(days=1)
                day = last - timedelta(days=last.weekday())
                while not workday(day):
                    day += timedelta(days=1)
                label = {1: f"{year}M{first_month:02d}", 3: f"{year}Q{(first_month + 2) // 3}",
                         6: f"{year}H{1 if first_month == 1 else 2}", 12: f"{year}"}[months]
                found.append((day, "checkin", label, ("unit",)))
    return found


@dataclass
class Window:
    """When an assignment's steps are live: (after, until], with the due date in force."""

    after: datetime
    until: datetime
    due: date | None


def nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=SH)


# --- the simulation -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Seat:
    """One chat that hears ``who``'s notifications (``who`` a key of PEOPLE: a unit, the office or the
    leader), on ``channel`` at ``address``. A person's chat with the bot, a group bound by an invite
    code, or (``robot:<name>``) a one-way group robot the configuration binds."""

    who: str
    channel: str
    address: str

    @property
    def key(self) -> str:
        """How a notification's dedupe key ends for this chat: a Telegram chat by its number alone
        (as before there were other platforms), any other as ``channel:address``."""
        return self.address if self.channel == "telegram" else f"{self.channel}:{self.address}"

    @property
    def robot(self) -> bool:
        return self.address.startswith("robot:")

    @property
    def group(self) -> bool:
        return self.address.startswith(("group:", "robot:")) or self.address.startswith("-")


# Everyone on Telegram, in their own chats with the bot.
TELEGRAM_CAST = tuple(Seat(who, "telegram", str(chat)) for who, chat in PEOPLE.items())
# One run on every platform at once: the same four audiences spread over them, the units' people each on
# a platform of their own and a unit's group on two. Each audience's first chat is who acts in the script.
MIXED_CAST = (
    Seat("区商务局", "dingtalk", "user:dt-shangwu-zhang"),  # DingTalk's Stream app, a person
    Seat("区商务局", "telegram", str(PEOPLE["区商务局"])),
    Seat("区商务局", "feishu", "group:oc_shangwu_work"),  # the unit's Feishu group, bound with an invite
    Seat("区农业农村局", "wecom", "user:nongye-li"),  # WeCom's intelligent robot, a person
    Seat("区农业农村局", "wecom", "robot:农业农村局工作群"),  # the unit's group, through a one-way WeCom robot
    Seat("office", "telegram", str(PEOPLE["office"])),
    Seat("leader", "dingtalk", "robot:区领导工作群"),  # the leadership's DingTalk group robot, signed
)


def _role(who: str, unit: Unit | None) -> Role:
    return Role.MEMBER if unit else (Role.OFFICE if who == "office" else Role.LEADER)


def bind(session: Session, clock: FixedClock, seat: Seat, unit: Unit | None) -> Member:
    """A person's chat or a group bound as people bind them: with an invite code."""
    code = create_invite(session, clock, Actor("admin", "cli"), _role(seat.who, unit), unit).code
    return redeem_invite(session, clock, code, channel=seat.channel, user_id=seat.address.split(":", 1)[-1],
                         address=seat.address, name=seat.who, is_group=seat.group)


def seed_with_people(engine, clock: FixedClock, cast: tuple[Seat, ...] = TELEGRAM_CAST) -> dict[str, int]:
    """The 2021 document imported at the simulation's start, and every chat of ``cast`` bound (a robot as
    the configuration binds it, all of a platform's at once): the member id of each audience's first
    chat, who acts in the script."""
    seed_plan(engine, clock)
    with transaction(engine) as session:
        units = {seat.who: session.exec(select(Unit).where(Unit.name == seat.who)).first() for seat in cast}
        robots: dict[str, list[RobotBinding]] = {}
        for seat in cast:
            if seat.robot:
                unit = units[seat.who]
                robots.setdefault(seat.channel, []).append(RobotBinding(
                    seat.channel, seat.address.removeprefix("robot:"), _role(seat.who, unit), unit.name if unit else ""))
        for channel, bindings in robots.items():
            keep_robots(session, clock, Actor("admin", "cli"), channel, bindings)
        members: dict[str, int] = {}
        for seat in cast:
            member = (session.exec(select(Member).where(Member.channel == seat.channel, Member.address == seat.address))
                      .one() if seat.robot else bind(session, clock, seat, units[seat.who]))
            assert member.id is not None
            members.setdefault(seat.who, member.id)
        return members


def scripted_events(engine, clock: FixedClock, members: dict[str, int]) -> dict[datetime, Callable[[], None]]:
    """What people do during the year: an extension asked and granted, a completion sent back, then verified."""

    def act(work: Callable[[Session, dict[str, Member]], object]) -> Callable[[], None]:
        def run() -> None:
            with transaction(engine) as session:
                work(session, {k: session.get(Member, v) for k, v in members.items()})
        return run

    return {
        datetime(2021, 9, 1, 10, tzinfo=SH): act(lambda s, m: request_extension(
            s, clock, m["区农业农村局"], find(s, ROSE, "区农业农村局"), NEW_ROSE_DATE, "苗木到货推迟", date(2021, 9, 1))),
        datetime(2021, 9, 1, 11, tzinfo=SH): act(lambda s, m: decide_extension(s, clock, m["office"], 1, approve=True)),
        datetime(2021, 10, 20, 10, tzinfo=SH): act(lambda s, m: report_completion(
            s, clock, m["区商务局"], find(s, EXHIBITION, "区商务局"), "已开业")),
        datetime(2021, 10, 25, 10, tzinfo=SH): act(lambda s, m: send_back(
            s, clock, m["office"], find(s, EXHIBITION, "区商务局"), "请补充合同")),
        datetime(2021, 11, 2, 10, tzinfo=SH): act(lambda s, m: report_completion(
            s, clock, m["区商务局"], find(s, EXHIBITION, "区商务局"), "已补充合同")),
        datetime(2021, 11, 3, 10, tzinfo=SH): act(lambda s, m: verify(
            s, clock, m["office"], find(s, EXHIBITION, "区商务局"))),
    }


def find(session: Session, ref: str, unit_name: str) -> Duty:
    assignment = session.exec(select(Assignment).join(Task).join(Unit).where(Task.ref == ref,
                                                                              Unit.name == unit_name)).one()
    return duty_by_assignment(session, assignment.id)


def live_assignments(session: Session) -> list:
    """(id, unit, task ref, deadline, recurrence, created, milestones) of every assignment not withdrawn:
    what ``expected`` computes the schedule from. The milestones are the task's unreached ones before
    its deadline (one on the deadline is the deadline), as (the name its keys carry, date)."""
    stages: dict[int, list[tuple[str, date]]] = {}
    for task_id, kind, due, text, deadline in session.exec(
            select(Milestone.task_id, Milestone.kind, Milestone.due, Milestone.text, Task.deadline).join(Task)
            .where(col(Milestone.reached_on).is_(None))).all():
        if deadline is None or due < deadline:
            name = kind if kind in ("start", "complete") else f"inline-{zlib.crc32(text.encode()):08x}"
            stages.setdefault(task_id, []).append((name, due))
    return [(*row, tuple(stages.get(task_id, ()))) for task_id, *row in session.exec(
        select(Task.id, Assignment.id, Unit.name, Task.ref, Task.deadline, Task.recurrence, Assignment.created_at)
        .join(Task).join(Unit).where(Assignment.status != "withdrawn")).all()]


def sent_steps(rows: list[Outbox]) -> Counter:
    """(recipient, assignment, rule, occurrence, level, milestone, local day) for every step any message
    carried; the milestone is "-" for a deadline's step. The recipient by who they are (a Telegram cast)."""
    who = {v: k for k, v in PEOPLE.items()}
    return _steps(rows, lambda row: who[int(row.address)])


def sent_steps_by_chat(rows: list[Outbox]) -> Counter:
    """``sent_steps`` with each recipient named by its chat, as ``Seat.key`` names it."""
    return _steps(rows, lambda row: row.address if row.channel == "telegram" else f"{row.channel}:{row.address}")


def _steps(rows: list[Outbox], recipient: Callable[[Outbox], str]) -> Counter:
    found: Counter = Counter()
    for row in rows:
        day = row.sent_at.astimezone(SH).date()
        if row.kind not in SCHEDULED_KINDS:
            continue  # replies to what people did (completion reported, extension decided …)
        for item in row.payload.get("items", [row.payload]):
            assignment, rule, due, level, *milestone = item["key"].split(":")
            found[(recipient(row), int(assignment[1:]), rule, due, level, *(milestone or ["-"]), day)] += 1
    return found


def in_every_chat(wanted: Counter, cast: tuple[Seat, ...]) -> Counter:
    """``expected``'s steps, each heard in every chat of its audience in ``cast``."""
    found: Counter = Counter()
    for (who, *step), count in wanted.items():
        for seat in cast:
            if seat.who == who:
                found[(seat.key, *step)] += count
    return found


def windows_for(ref: str, unit: str, due: date | None, created: datetime, scripted: bool) -> list[Window]:
    if not scripted:
        return [Window(created, END, due)]
    if (ref, unit) == (ROSE, "区农业农村局"):
        return [Window(created, nine(date(2021, 9, 1)), due),
                Window(nine(date(2021, 9, 1)), END, NEW_ROSE_DATE)]
    if (ref, unit) == (EXHIBITION, "区商务局"):
        return [Window(created, datetime(2021, 10, 20, 10, tzinfo=SH), due),
                Window(datetime(2021, 10, 25, 10, tzinfo=SH), datetime(2021, 11, 2, 10, tzinfo=SH), due)]
    return [Window(created, END, due)]


def expected(assignments: list, *, scripted: bool = True) -> Counter:
    """Units hear of their own tasks (only the two bound units have anyone to hear); the office and the
    leader hear of every unit's escalations."""
    found: Counter = Counter()

    def add(key: tuple) -> None:
        if key[0] in ("office", "leader") or key[0] in UNITS:
            found[key] += 1

    for assignment_id, unit, ref, due, recurrence, created, stages in assignments:
        created = created.astimezone(SH)
        for window in windows_for(ref, unit, due, created, scripted):
            # The deadline's steps, then each milestone's: the same ladder on its own date, no check-ins.
            dates = [(window.due, recurrence, "-")] + [(day, None, name) for name, day in stages]
            for chased, cycle, milestone in dates:
                _expect(add, window, created, assignment_id, unit, chased, cycle, milestone)
    return found


def _expect(add: Callable[[tuple], None], window: Window, created: datetime, assignment_id: int, unit: str,
            due: date | None, recurrence: str | None, milestone: str) -> None:
    recipients = {"unit": None, "office": "office", "leadership": "leader"}
    steps = expected_steps(due, recurrence)
    live = [s for s in steps if window.after < nine(s[0]) <= window.until]
    if window.after == created and due is not None:
        # Imported already overdue: where the ladder stood is sent at the first sending tick.
        first_tick = nine(created.date())
        caught = [s for s in steps if s[1] == "overdue" and nine(s[0]) <= created]
        live = [s for s in live if nine(s[0]) > first_tick]
        for audience in ("unit", "office", "leadership"):
            latest = [s for s in caught + [s for s in steps if nine(s[0]) == first_tick]
                      if audience in s[3] and s[1] == "overdue"]
            if latest:
                day, rule, level, _ = latest[-1]
                add((recipients[audience] or unit, assignment_id, rule, str(due), level, milestone,
                     first_tick.date()))
        live += [s for s in steps if nine(s[0]) == first_tick and s[1] != "overdue"]
    for day, rule, level, audience in live:
        for who in audience:
            add((recipients[who] or unit, assignment_id, rule, str(due) if rule != "checkin" else "-",
                 level, milestone, day))
