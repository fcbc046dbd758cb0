"""The clock chases a project's 开工 like a deadline: reminders before, the ladder after, nothing once reached."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.context import BotContext
from bot.render import notification
from bot.sandbox.html_check import visible_text
from seed import MENTOUGOU_2021, seed_path
from tasks.clock import FixedClock, planner
from tasks.clock.policy import Policy
from tasks.clock.workdays import WorkCalendar
from tasks.db import transaction
from tasks.models import Member, Milestone, Outbox, Role, Task
from tasks.plan.importer import import_file
from tasks.work.duties import member_duty
from tasks.work.milestones import find_milestone, report_milestone
from tests.factories import ADMIN, COMMERCE, EXHIBITION, bind, seed_plan

SH = ZoneInfo("Asia/Shanghai")
POLICY, CALENDAR = Policy(timezone=SH), WorkCalendar()


def tick(engine: Engine, clock: FixedClock) -> None:
    planner.run_tick(BotContext(engine, clock, SH, "门头沟区").in_transaction, clock, POLICY, CALENDAR)


def rows_since(engine: Engine, since: datetime) -> list[Outbox]:
    """Notifications queued since ``since``, in the order they were queued."""
    with transaction(engine) as session:
        return list(session.exec(select(Outbox).where(col(Outbox.created_at) >= since).order_by(col(Outbox.id))).all())

START = date(2021, 6, 1)  # the exhibition centre's 开工 (2021年6-2021年10月); its deadline is 10-31
IMPORTED = datetime(2021, 5, 6, 1, 0, tzinfo=UTC)


def morning(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=SH)


def milestone_items(engine: Engine, task_id: int, since: datetime) -> list[tuple[str, str, dict]]:
    """(recipient role, outbox kind, item) of every milestone step about the task queued since ``since``."""
    found = []
    with transaction(engine) as session:
        roles = {m.address: m.role for m in session.exec(select(Member)).all()}
    for row in rows_since(engine, since):
        for item in row.payload.get("items", [row.payload]):
            if item.get("task_id") == task_id and item.get("milestone"):
                found.append((roles[row.address], row.kind, item))
    return found


def shown(row: Outbox) -> str:
    return "".join(visible_text(page) for page in notification(row.kind, row.payload).pages)


def started(engine: Engine, clock: FixedClock) -> tuple[int, int]:
    """The seed imported in May with the exhibition's unit, the office and a leader bound; (task, member)."""
    seed_plan(engine, clock)
    member = bind(engine, clock, 501, Role.MEMBER, COMMERCE)
    bind(engine, clock, 502, Role.OFFICE)
    bind(engine, clock, 503, Role.LEADER)
    with transaction(engine) as session:
        task_id = session.exec(select(Task.id).where(Task.ref == EXHIBITION)).one()
        assert session.exec(select(Milestone.due).where(Milestone.task_id == task_id,
                                                        Milestone.kind == "start")).one() == START
    assert task_id is not None
    return task_id, member


def walk(engine: Engine, clock: FixedClock, days: list[date]) -> None:
    for day in days:
        clock.moment = morning(day)
        tick(engine, clock)


def test_reminded_before_kaigong_escalated_after_and_silent_once_reported(engine: Engine) -> None:
    clock = FixedClock(IMPORTED)
    task_id, member_id = started(engine, clock)
    d5 = CALENDAR.shift(CALENDAR.on_or_before(START), -5)
    walk(engine, clock, [CALENDAR.shift(d5, -1)])  # (the d10 reminder, sent then)
    before = morning(d5)
    walk(engine, clock, [d5])
    [(role, kind, item)] = milestone_items(engine, task_id, before)
    assert (role, kind, item["step"], item["milestone"], item["due_on"]) == (Role.MEMBER, "reminder", "d5", "开工",
                                                                             "2021-06-01")
    assert item["key"] == f"{item['key'].split(':')[0]}:remind:2021-06-01:d5:start"
    [row] = [r for r in rows_since(engine, before) if r.payload.get("milestone")]
    assert "开工节点提醒：项目 " in shown(row) and "计划 2021-06-01 开工（还有7天）" in shown(row)
    walk(engine, clock, [d5])  # the same morning again (a restart): nothing more
    assert len(milestone_items(engine, task_id, before)) == 1

    # After 06-01 the ladder: the unit on the first working day after, the office three later, then leadership.
    first = CALENDAR.after(START)
    office_day, leader_day = CALENDAR.shift(first, POLICY.office_after), CALENDAR.shift(first, POLICY.leadership_after)
    days, day = [], CALENDAR.after(d5)
    while day <= leader_day:
        days.append(day)
        day = CALENDAR.after(day)
    after = morning(days[0])
    walk(engine, clock, days)
    ladder = [(role, item["step"]) for role, _kind, item in milestone_items(engine, task_id, after)
              if item["key"].split(":")[1] == "overdue"]
    assert ladder == [(Role.MEMBER, "unit"), (Role.OFFICE, "office"), (Role.LEADER, "leadership")]
    office_rows = [r for r in rows_since(engine, morning(office_day)) if r.kind == "overdue_office"]
    assert office_rows and any(i.get("milestone") == "开工" for i in office_rows[0].payload["items"])

    # Reported reached: the repeats stop; the deadline is chased as before.
    with transaction(engine) as session:
        member = session.get(Member, member_id)
        duty = member_duty(session, member, task_id)
        report_milestone(session, clock, member, duty, find_milestone(session, task_id, "开工"), leader_day)
    reported = morning(CALENDAR.after(leader_day))
    walk(engine, clock, [CALENDAR.shift(leader_day, n) for n in range(1, 16)])
    assert milestone_items(engine, task_id, reported) == []
    deadline_d10 = CALENDAR.shift(CALENDAR.on_or_before(date(2021, 10, 31)), -10)
    walk(engine, clock, [deadline_d10])
    assert any(r.payload.get("task_id") == task_id or any(i["task_id"] == task_id for i in r.payload.get("items", []))
               for r in rows_since(engine, morning(deadline_d10)))


def test_a_reimport_that_moves_kaigong_reminds_of_the_new_date_and_not_the_old(engine: Engine,
                                                                              tmp_path: Path) -> None:
    clock = FixedClock(IMPORTED)
    task_id, _member = started(engine, clock)
    walk(engine, clock, [date(2021, 5, 10)])
    moved = tmp_path / "mentougou_2021.txt"
    text = seed_path(MENTOUGOU_2021).read_text(encoding="utf-8")
    assert text.count("2021年6-2021年10月") == 1
    moved.write_text(text.replace("2021年6-2021年10月", "2021年7-2021年10月"), encoding="utf-8")
    import_file(engine, moved, clock, ADMIN, district="门头沟区")
    with transaction(engine) as session:
        starts = session.exec(select(Milestone.due).where(Milestone.task_id == task_id,
                                                          Milestone.kind == "start")).all()
    assert starts == [date(2021, 7, 1)]

    since = morning(date(2021, 5, 11))
    old_d5 = CALENDAR.shift(CALENDAR.on_or_before(START), -5)
    new_d5 = CALENDAR.shift(CALENDAR.on_or_before(date(2021, 7, 1)), -5)
    days, day = [], date(2021, 5, 11)
    while day <= new_d5:
        if CALENDAR.is_workday(day):
            days.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    walk(engine, clock, days)
    steps = [(item["key"].split(":")[1], item["due_on"], item["step"]) for _r, _k, item
             in milestone_items(engine, task_id, since)]
    assert ("remind", "2021-06-01", "d5") not in steps and ("overdue", "2021-06-01", "unit") not in steps
    assert ("remind", "2021-07-01", "d10") in steps and ("remind", "2021-07-01", "d5") in steps
    assert old_d5 < new_d5
